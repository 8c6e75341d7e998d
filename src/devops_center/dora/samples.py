"""Percentiles of many sorted runs (a day's lead times each), without sorting them all."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from devops_center.dora import day_cache


class Sample:
    """Whole numbers (µs, s) whose percentiles are asked, given in ``unit`` per second:
    linear interpolation between closest ranks (as :func:`~devops_center.dora.rules.percentile`),
    in seconds.

    The values come in sorted runs (a day's lead times); a percentile is found by
    bisecting on the value and counting with :func:`bisect.bisect_right` in every run,
    never by sorting the tens of thousands of lead times a 13-week report holds."""

    MAX_RUNS = 64  # more, smaller runs (one incident each) are merged and sorted once

    def __init__(self, unit: int = 1) -> None:
        self.runs: list[Sequence[int]] = []
        self.n = 0
        self.unit = unit

    def add(self, values: list[int]) -> None:
        self.add_sorted(sorted(values))  # linear for an already sorted run

    def add_sorted(self, run: Sequence[int]) -> None:
        if run:
            self.runs.append(run)
            self.n += len(run)

    def _kth(self, k: int) -> int:
        runs = self.runs
        lo, hi = min(r[0] for r in runs), max(r[-1] for r in runs)
        while lo < hi:
            mid = (lo + hi) // 2
            if sum(bisect_right(r, mid) for r in runs) > k:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def value(self, p: float) -> float | None:
        if not self.n:
            return None
        kept = [run for run in self.runs if day_cache.is_kept(run)]
        if len(kept) > 1:
            self.runs = [
                day_cache.MERGED.of(kept),
                *(run for run in self.runs if not day_cache.is_kept(run)),
            ]
        if len(self.runs) > self.MAX_RUNS:
            self.runs = [sorted(v for run in self.runs for v in run)]
        pos = p * (self.n - 1)
        k = int(pos)
        if len(self.runs) == 1:  # a day's values, an incident list: read off
            run = self.runs[0]
            a, b = run[k], run[min(k + 1, self.n - 1)]
            return round((a + (pos - k) * (b - a)) / self.unit, 3)
        a = self._kth(k)
        b = a
        if k + 1 < self.n and sum(bisect_right(r, a) for r in self.runs) <= k + 1:
            b = min(r[i] for r in self.runs if (i := bisect_right(r, a)) < len(r))
        return round((a + (pos - k) * (b - a)) / self.unit, 3)
