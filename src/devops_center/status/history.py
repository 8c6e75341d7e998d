"""A check's history: response times for the chart and its recent incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.incidents import service as incidents
from devops_center.incidents.models import Incident
from devops_center.status import hours
from devops_center.status.models import (
    CheckResult,
    CheckRollup,
)


@dataclass(frozen=True)
class Point:
    at: datetime  # start of the bucket
    avg_ms: float | None
    max_ms: float | None
    samples: int
    ups: int


async def response_series(
    session: AsyncSession,
    *,
    name: str,
    since: datetime,
    until: datetime | None = None,
    bucket_seconds: int = 300,
    use_rollups: bool = False,
) -> list[Point]:
    """Response time and success per bucket, from the raw results (kept 7 days).

    With ``use_rollups`` (periods longer than a week) whole rolled-up hours come from the
    hourly roll-ups and only the rest from raw results.
    """
    until = until or utcnow()
    watermark = await hours.rolled_until(session) if use_rollups else None
    raw_from = max(since, watermark) if watermark is not None else since
    raw_bucket = hours.epoch(session, CheckResult.checked_at) // bucket_seconds
    statements: list[Any] = [
        select(
            raw_bucket,
            func.sum(CheckResult.response_ms),
            func.count(CheckResult.response_ms),
            func.max(CheckResult.response_ms),
            func.count(),
            func.sum(CheckResult.ok),
        )
        .where(
            CheckResult.check_name == name,
            CheckResult.checked_at >= raw_from,
            CheckResult.checked_at <= until,
        )
        .group_by(raw_bucket)
    ]
    if watermark is not None:
        roll_bucket = hours.epoch(session, CheckRollup.hour) // bucket_seconds
        total = CheckRollup.samples + CheckRollup.maintenance
        statements.append(
            select(
                roll_bucket,
                func.sum(CheckRollup.response_ms_avg * total),
                func.sum(case((CheckRollup.response_ms_avg.is_(None), 0), else_=total)),
                func.max(CheckRollup.response_ms_max),
                func.sum(CheckRollup.samples),
                func.sum(CheckRollup.ups),
            )
            .where(
                CheckRollup.check_name == name,
                CheckRollup.hour >= since,
                CheckRollup.hour < watermark,
            )
            .group_by(roll_bucket)
        )
    acc: dict[int, list[float]] = {}
    for stmt in statements:
        for bucket, ms_sum, ms_n, ms_max, n, ups in await session.execute(stmt):
            a = acc.setdefault(int(bucket), [0.0, 0.0, -1.0, 0.0, 0.0])
            a[0] += float(ms_sum or 0)
            a[1] += float(ms_n or 0)
            a[2] = max(a[2], float(ms_max) if ms_max is not None else -1.0)
            a[3] += float(n or 0)
            a[4] += float(ups or 0)
    return [
        Point(
            at=datetime.fromtimestamp(b * bucket_seconds, UTC),
            avg_ms=round(a[0] / a[1], 2) if a[1] else None,
            max_ms=a[2] if a[2] >= 0 else None,
            samples=int(a[3]),
            ups=int(a[4]),
        )
        for b, a in sorted(acc.items())
    ]


async def check_incidents(session: AsyncSession, *, name: str, limit: int = 5) -> list[Incident]:
    return await incidents.list_incidents(session, source="check", source_ref=name, limit=limit)
