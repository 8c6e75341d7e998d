"""Retention: complete hours of results folded into hourly roll-ups (what uptime reads),
raw results deleted after 7 days, roll-ups after 90, past maintenance windows after a day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.incidents import service as incidents
from devops_center.status import hours
from devops_center.status.checks import check_specs
from devops_center.status.maintenance import WINDOWS_KEPT
from devops_center.status.models import (
    CheckResult,
    CheckRollup,
    CheckState,
    MaintenanceWindowRow,
)
from devops_center.status.uptime import raw_held

RAW_RETENTION = timedelta(days=7)
ROLLUP_RETENTION = timedelta(days=90)


ROLL_UP_DELAY = timedelta(minutes=5)  # results of an hour may still be arriving


async def roll_up(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    intervals: Mapping[str, int] | None = None,
) -> int:
    """Fold the raw results of every complete hour not rolled up yet into hourly roll-ups.

    ``intervals`` (each check's probe interval, seconds) bounds how long a result holds
    for the time-weighted uptime (see :mod:`devops_center.status.uptime`). Returns the
    number of raw results folded (the raw rows stay for 7 days, for the
    detailed charts). Safe to run any time and twice: a watermark in the key-value store
    says which hours are done, and an hour met again is merged, never overwritten.
    """
    now = now or utcnow()
    until = hours.floor_hour(now - ROLL_UP_DELAY)
    since = await hours.rolled_until(session)
    if since is not None and since >= until:
        return 0
    bucket = hours.epoch(session, CheckResult.checked_at) // 3600
    counted = CheckResult.state != "maintenance"
    stmt = (
        select(
            CheckResult.check_name,
            bucket,
            func.sum(case((counted, 1), else_=0)),
            func.sum(case((counted, CheckResult.ok), else_=0)),
            func.sum(case((counted, 0), else_=1)),
            func.avg(CheckResult.response_ms),
            func.max(CheckResult.response_ms),
        )
        .where(CheckResult.checked_at < until)
        .group_by(CheckResult.check_name, bucket)
    )
    if since is not None:
        stmt = stmt.where(CheckResult.checked_at >= since)
    groups = list(await session.execute(stmt))
    folded = 0
    if groups:
        seconds = await _held_by_hour(
            session, since=since, until=until, now=now, intervals=intervals
        )
        first = min(datetime.fromtimestamp(int(g[1]) * 3600, UTC) for g in groups)
        existing = {
            (r.check_name, r.hour): r
            for r in (
                await session.execute(select(CheckRollup).where(CheckRollup.hour >= first))
            ).scalars()
        }
        new_rows: list[dict[str, Any]] = []
        for name, b, samples, ups, maint, avg_ms, max_ms in groups:
            hour = datetime.fromtimestamp(int(b) * 3600, UTC)
            samples, ups, maint = int(samples or 0), int(ups or 0), int(maint or 0)
            folded += samples + maint
            up_s, observed_s = seconds.get((name, hour), (0.0, 0.0))
            old = existing.get((name, hour))
            if old is None:
                new_rows.append(
                    {
                        "check_name": name,
                        "hour": hour,
                        "samples": samples,
                        "ups": ups,
                        "maintenance": maint,
                        "up_seconds": up_s,
                        "observed_seconds": observed_s,
                        "response_ms_avg": float(avg_ms) if avg_ms is not None else None,
                        "response_ms_max": float(max_ms) if max_ms is not None else None,
                    }
                )
                continue
            n_old, n_new = old.samples + old.maintenance, samples + maint
            if avg_ms is not None:
                old.response_ms_avg = (
                    float(avg_ms)
                    if old.response_ms_avg is None
                    else (old.response_ms_avg * n_old + float(avg_ms) * n_new) / (n_old + n_new)
                )
            if max_ms is not None:
                old.response_ms_max = max(old.response_ms_max or 0.0, float(max_ms))
            old.samples += samples
            old.ups += ups
            old.maintenance += maint
            if old.observed_seconds is not None:  # a legacy roll-up stays counted by results
                old.observed_seconds += observed_s
                old.up_seconds = (old.up_seconds or 0.0) + up_s
        if new_rows:
            await session.execute(insert(CheckRollup), new_rows)
    await hours.set_rolled_until(session, until)
    await session.flush()
    return folded


async def _held_by_hour(
    session: AsyncSession,
    *,
    since: datetime | None,
    until: datetime,
    now: datetime,
    intervals: Mapping[str, int] | None,
) -> dict[tuple[str, datetime], tuple[float, float]]:
    """(check, hour) → (seconds up, seconds observed) of the results taken in that hour."""
    low = since if since is not None else datetime(1970, 1, 1, tzinfo=UTC)
    held = await raw_held(session, low=low, high=until, now=now, intervals=intervals or {})
    out: dict[tuple[str, datetime], tuple[float, float]] = {}
    for name, rows in held.items():
        for at, up, observed in rows:
            key = (name, hours.floor_hour(at))
            prev = out.get(key, (0.0, 0.0))
            out[key] = (prev[0] + up, prev[1] + observed)
    return out


async def purge(session: AsyncSession, *, now: datetime | None = None) -> tuple[int, int]:
    """Delete raw results older than 7 days (once rolled up) and roll-ups older than 90 days.

    Returns (raw results deleted, roll-ups deleted).
    """
    now = now or utcnow()
    cutoff = hours.floor_hour(now - RAW_RETENTION)
    watermark = await hours.rolled_until(session)
    raw = 0
    if watermark is not None:
        result = await session.execute(
            delete(CheckResult).where(CheckResult.checked_at < min(cutoff, watermark))
        )
        raw = int(result.rowcount or 0)  # type: ignore[attr-defined]
    result = await session.execute(
        delete(CheckRollup).where(CheckRollup.hour < now - ROLLUP_RETENTION)
    )
    await session.execute(
        delete(MaintenanceWindowRow).where(MaintenanceWindowRow.ends_at < now - WINDOWS_KEPT)
    )
    return raw, int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_removed_checks(session: AsyncSession, settings: Settings) -> int:
    """Drop the state rows of checks no longer configured (their history ages out)."""
    names = [s.name for s in check_specs(settings)]
    gone = select(CheckState).where(CheckState.check_name.not_in(names))
    for row in (await session.execute(gone)).scalars():
        if row.incident_id is not None:
            await incidents.resolve(session, incident_id=row.incident_id)
    result = await session.execute(delete(CheckState).where(CheckState.check_name.not_in(names)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
