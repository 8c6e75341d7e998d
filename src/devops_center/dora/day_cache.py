"""Roll-up days already read, kept by each process while the database says they are the same.

A 30-day report with its previous window and chart reads some 60 days of roll-ups, each
with the lead times of its commits (hundreds of integers a day on a busy team): sending
and parsing them cost more than everything else in the report. Past days rarely change,
so a process keeps what it parsed, under the row's ``revision`` — a random number every
write of the row replaces (:mod:`devops_center.deployments.rollup_days`, the rebuild's
column default). A report reads the revisions of its days first (a few bytes a day) and
fetches the full rows of only the days whose revision it has not seen. Nothing is
keyed by time: a late registration, a status change, a deletion, a rebuild or a restore
gives the rows it writes new (or other) revisions, and the next read in any process
sees them.

Per process, bounded: :data:`MAX_SCOPES` (database, zone, environment, service, values)
scopes, the least recently used dropped first, :data:`MAX_DAYS` days each.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any

MAX_SCOPES = 32
MAX_DAYS = 800  # two 365-day windows and their weeks; beyond, the scope starts again

Scope = tuple[str, str, str, str, bool]  # database, zone, environment, service, durations


@dataclass(frozen=True)
class KeptDay:
    """A roll-up row as read: its revision, its counts, its values sorted (None: the
    report did not need them for that day)."""

    revision: int
    counts: tuple[int, ...]
    values: Sequence[int] | None


class DayCache:
    def __init__(self) -> None:
        self._scopes: OrderedDict[Scope, dict[date, KeptDay]] = OrderedDict()

    def scope(self, key: Scope) -> dict[date, KeptDay]:
        days = self._scopes.get(key)
        if days is None or len(days) > MAX_DAYS:
            days = self._scopes[key] = {}
        self._scopes.move_to_end(key)
        while len(self._scopes) > MAX_SCOPES:
            self._scopes.popitem(last=False)
        return days

    def clear(self) -> None:
        self._scopes.clear()


MAX_MERGED = 32  # merged runs kept, the least recently used dropped first
MAX_MERGED_VALUES = 500_000  # a longer merge is not kept (a year of a very busy team)


class Merged:
    """The kept days' runs of a window merged into one sorted run, kept while the window
    holds the very same runs (the same objects: a day read again at a new revision is
    a new run). A percentile of a window is then a bisection over that run and today's,
    not over 30 runs for every request."""

    def __init__(self) -> None:
        self._merged: OrderedDict[tuple[int, ...], tuple[tuple[Any, ...], array[int]]] = (
            OrderedDict()
        )

    def of(self, runs: Sequence[Sequence[int]]) -> Sequence[int]:
        key = tuple(id(run) for run in runs)
        found = self._merged.get(key)
        # the runs themselves are kept with the merge: their ids cannot be reused meanwhile
        if found is not None and all(a is b for a, b in zip(found[0], runs, strict=True)):
            self._merged.move_to_end(key)
            return found[1]
        merged = array("q", sorted(chain.from_iterable(runs)))
        if len(merged) <= MAX_MERGED_VALUES:
            self._merged[key] = (tuple(runs), merged)
            while len(self._merged) > MAX_MERGED:
                self._merged.popitem(last=False)
        return merged

    def clear(self) -> None:
        self._merged.clear()


def is_kept(run: Sequence[int]) -> bool:
    """A run of a kept day (as :func:`kept` makes them), not of raw rows."""
    return isinstance(run, array)


def kept(revision: int, counts: Sequence[int], values: list[int] | None) -> KeptDay:
    return KeptDay(
        revision,
        tuple(int(c or 0) for c in counts),
        None if values is None else array("q", sorted(values)),
    )


DAYS = DayCache()
MERGED = Merged()
