"""Uptime of each check over 24 h, 7 d and 30 d, from hourly roll-ups and raw results."""

from __future__ import annotations

from collections.abc import Iterable
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


@dataclass(frozen=True)
class Uptime:
    """Successful probes / probes outside maintenance, per window; None without data."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # window → (ups, samples)

    def percent(self, window: str) -> float | None:
        ups, samples = self.counts.get(window, (0, 0))
        return ups / samples * 100 if samples else None


async def uptimes(
    session: AsyncSession, *, names: Iterable[str] | None = None, now: datetime | None = None
) -> dict[str, Uptime]:
    """Uptime over 24 h, 7 d and 30 d of every check, in SQL.

    Whole hours come from the hourly roll-ups (kept up to date by the retention job);
    the hours not rolled up yet and the partial hour at a window's start from the raw
    results. So the query reads at most ~720 roll-up rows and ~1 hour of raw rows a check.
    """
    now = now or utcnow()
    starts = {w: now - d for w, d in WINDOWS.items()}
    watermark = await hours.rolled_until(session)
    wanted = list(names) if names is not None else None
    totals: dict[str, dict[str, list[int]]] = {}

    def add(name: str, window: str, ups: Any, samples: Any) -> None:
        per = totals.setdefault(name, {w: [0, 0] for w in WINDOWS})
        per[window][0] += int(ups or 0)
        per[window][1] += int(samples or 0)

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
        upper = CheckResult.checked_at <= now if high is None else CheckResult.checked_at < high
        stmt = (
            select(CheckResult.check_name, func.sum(CheckResult.ok), func.count())
            .where(
                CheckResult.checked_at >= low,
                upper,
                CheckResult.state != "maintenance",
            )
            .group_by(CheckResult.check_name)
        )
        if wanted is not None:
            stmt = stmt.where(CheckResult.check_name.in_(wanted))
        for name, ups, samples in await session.execute(stmt):
            for w in windows:
                add(name, w, ups, samples)

    # Whole hours from the roll-ups.
    if watermark is not None:
        cols: list[Any] = []
        for start in starts.values():
            in_w = and_(CheckRollup.hour >= hours.ceil_hour(start), CheckRollup.hour < watermark)
            cols += [
                func.sum(case((in_w, CheckRollup.ups), else_=0)),
                func.sum(case((in_w, CheckRollup.samples), else_=0)),
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
            for j, w in enumerate(WINDOWS):
                add(row[0], w, row[1 + 2 * j], row[2 + 2 * j])
    return {
        name: Uptime({w: (ups, n) for w, (ups, n) in per.items()}) for name, per in totals.items()
    }
