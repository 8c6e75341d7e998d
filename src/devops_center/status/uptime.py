"""Uptime of each check over 24 h, 7 d and 30 d, weighted by time, from hourly roll-ups
and raw results.

Uptime is time up / time observed, never successful probes / probes: each result holds
from its own time until the next result of its check, but at most :func:`max_gap` (three
intervals, at least three minutes); time past that gap nobody observed (the worker was
stopped) and counts neither up nor down. Results inside a maintenance window count for
neither. So a check probed more often while down (or whose interval changed) is not
made to look worse than one probed at a steady rate, and every screen (status page,
dashboard panel, API, bot, digest, /metrics) reads the one figure of :func:`uptimes`.

A result's held time is booked in the hour the result was taken, so an hourly roll-up
carries the seconds of its own results and the raw results after the roll-up watermark
carry the rest, each result counted once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.status import hours
from devops_center.status.models import (
    CheckResult,
    CheckRollup,
)

WINDOWS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_INTERVAL = 60  # seconds, a check whose interval the caller did not give


def max_gap(interval: int | float) -> timedelta:
    """How long one result holds at most: three intervals, at least three minutes. The
    same span after which a check without results shows ``unknown``."""
    return timedelta(seconds=max(3 * interval, 180))


@dataclass(frozen=True)
class Uptime:
    """Seconds up / seconds observed outside maintenance, per window; None without data."""

    seconds: dict[str, tuple[float, float]] = field(default_factory=dict)  # (up, observed)

    def percent(self, window: str) -> float | None:
        up, observed = self.seconds.get(window, (0.0, 0.0))
        return min(100.0, up / observed * 100) if observed > 0 else None


Sample = tuple[datetime, int, str]  # checked_at, ok, state


def held_seconds(
    samples: Sequence[Sample], *, gap: timedelta, until: datetime
) -> list[tuple[datetime, float, float]]:
    """Each result's (time, seconds up, seconds observed), ``samples`` sorted by time.

    A result holds until the next one, at most ``gap`` and never past ``until`` (now).
    """
    out = []
    for i, (at, ok, state) in enumerate(samples):
        end = min(at + gap, until)
        if i + 1 < len(samples):
            end = min(end, samples[i + 1][0])
        held = max(0.0, (end - at).total_seconds())
        if state == "maintenance":
            held = 0.0
        out.append((at, held if ok else 0.0, held))
    return out


async def _raw_samples(
    session: AsyncSession, *, low: datetime, high: datetime, wanted: list[str] | None
) -> dict[str, list[Sample]]:
    stmt = (
        select(CheckResult.check_name, CheckResult.checked_at, CheckResult.ok, CheckResult.state)
        .where(CheckResult.checked_at >= low, CheckResult.checked_at <= high)
        .order_by(CheckResult.check_name, CheckResult.checked_at)
    )
    if wanted is not None:
        stmt = stmt.where(CheckResult.check_name.in_(wanted))
    by_name: dict[str, list[Sample]] = {}
    for name, at, ok, state in await session.execute(stmt):
        by_name.setdefault(name, []).append((at, int(ok), state))
    return by_name


async def raw_held(
    session: AsyncSession,
    *,
    low: datetime,
    high: datetime | None,
    now: datetime,
    intervals: Mapping[str, int],
    wanted: list[str] | None = None,
) -> dict[str, list[tuple[datetime, float, float]]]:
    """Held seconds of the raw results taken in [low, high) (``high`` None: up to now),
    the result after ``high`` read too so the last one holds until it."""
    longest = max([max_gap(i) for i in intervals.values()] + [max_gap(DEFAULT_INTERVAL)])
    upper = now if high is None else min(now, high + longest)
    out = {}
    for name, samples in (await _raw_samples(session, low=low, high=upper, wanted=wanted)).items():
        gap = max_gap(intervals.get(name, DEFAULT_INTERVAL))
        held = held_seconds(samples, gap=gap, until=now)
        out[name] = [h for h in held if high is None or h[0] < high]
    return out


async def uptimes(
    session: AsyncSession,
    *,
    names: Iterable[str] | None = None,
    now: datetime | None = None,
    intervals: Mapping[str, int] | None = None,
) -> dict[str, Uptime]:
    """Time-weighted uptime over 24 h, 7 d and 30 d of every check (``intervals``: each
    check's probe interval in seconds, for the longest a result holds).

    Whole hours come from the hourly roll-ups (kept up to date by the retention job);
    the hours not rolled up yet and the partial hour at a window's start from the raw
    results. So the query reads at most ~720 roll-up rows and ~1 hour of raw rows a check.
    Roll-ups made before uptime was weighted by time (no seconds) count each result for
    one interval.
    """
    now = now or utcnow()
    intervals = dict(intervals or {})
    starts = {w: now - d for w, d in WINDOWS.items()}
    watermark = await hours.rolled_until(session)
    wanted = list(names) if names is not None else None
    totals: dict[str, dict[str, list[float]]] = {}

    def add(name: str, window: str, up: float, observed: float) -> None:
        per = totals.setdefault(name, {w: [0.0, 0.0] for w in WINDOWS})
        per[window][0] += up
        per[window][1] += observed

    # Raw results: simple time ranges (each an index range scan), shared by the windows.
    ranges: dict[tuple[datetime, datetime | None], list[str]] = {}
    for w, start in starts.items():
        if watermark is None:
            ranges.setdefault((start, None), []).append(w)
            continue
        edge = min(hours.ceil_hour(start), watermark)
        if edge > start:  # the partial hour at the window's start
            ranges.setdefault((start, edge), []).append(w)
        ranges.setdefault((max(start, watermark), None), []).append(w)  # not rolled up yet
    for (low, high), windows in ranges.items():
        held = await raw_held(
            session, low=low, high=high, now=now, intervals=intervals, wanted=wanted
        )
        for name, rows in held.items():
            up = sum(r[1] for r in rows)
            observed = sum(r[2] for r in rows)
            for w in windows:
                add(name, w, up, observed)

    # Whole hours from the roll-ups.
    if watermark is not None:
        legacy = CheckRollup.observed_seconds.is_(None)
        cols: list[Any] = []
        for start in starts.values():
            in_w = and_(CheckRollup.hour >= hours.ceil_hour(start), CheckRollup.hour < watermark)
            cols += [
                func.sum(case((and_(in_w, ~legacy), CheckRollup.up_seconds), else_=0)),
                func.sum(case((and_(in_w, ~legacy), CheckRollup.observed_seconds), else_=0)),
                func.sum(case((and_(in_w, legacy), CheckRollup.ups), else_=0)),
                func.sum(case((and_(in_w, legacy), CheckRollup.samples), else_=0)),
            ]
        rolled = (
            select(CheckRollup.check_name, *cols)
            .where(
                CheckRollup.hour >= hours.ceil_hour(min(starts.values())),
                CheckRollup.hour < watermark,
            )
            .group_by(CheckRollup.check_name)
        )
        if wanted is not None:
            rolled = rolled.where(CheckRollup.check_name.in_(wanted))
        for row in await session.execute(rolled):
            step = float(intervals.get(row[0], DEFAULT_INTERVAL))
            for j, w in enumerate(WINDOWS):
                figures = row[1 + 4 * j : 5 + 4 * j]
                up, observed, old_ups, old_samples = (float(x or 0) for x in figures)
                add(row[0], w, up + old_ups * step, observed + old_samples * step)
    return {
        name: Uptime({w: (up, observed) for w, (up, observed) in per.items()})
        for name, per in totals.items()
    }
