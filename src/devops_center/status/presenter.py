"""What the dashboard panel, /admin/status, the bot's /morning, the digest and /metrics
show of each check: :func:`current_states` returning :class:`CheckView` objects. Their
fields may grow; existing ones keep their meaning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.status.checks import CheckSpec, check_specs
from devops_center.status.maintenance import all_windows, in_maintenance
from devops_center.status.models import (
    CheckState,
)
from devops_center.status.uptime import Uptime, max_gap, uptimes

VIEW_STATES = ("up", "down", "pending", "maintenance", "unknown", "not_configured")


@dataclass(frozen=True)
class CheckView:
    """What every screen shows about one check (web panel, /admin/status, bot, metrics)."""

    name: str
    type: str
    builtin: bool
    target: str
    state: str  # up | down | pending | maintenance | unknown | not_configured
    since: datetime | None
    last_checked_at: datetime | None
    response_ms: float | None
    message: str | None
    uptime_24h: float | None
    uptime_7d: float | None
    uptime_30d: float | None
    incident_id: int | None
    interval: int

    @property
    def is_down(self) -> bool:
        return self.state == "down"


def stale_after(spec: CheckSpec) -> timedelta:
    """No result for this long means nobody is checking (the worker is not running)."""
    return max_gap(spec.interval)


async def current_states(
    session: AsyncSession, settings: Settings, *, now: datetime | None = None
) -> list[CheckView]:
    """Every configured check with its state, last response time, uptime and since when."""
    now = now or utcnow()
    specs = check_specs(settings)
    names = [s.name for s in specs]
    rows = await session.execute(select(CheckState).where(CheckState.check_name.in_(names)))
    states = {row.check_name: row for row in rows.scalars()}
    intervals = {s.name: s.interval for s in specs}
    ups = await uptimes(session, names=names, now=now, intervals=intervals)
    windows = await all_windows(session, settings)
    views = []
    for spec in specs:
        row = states.get(spec.name)
        uptime = ups.get(spec.name, Uptime())
        state = row.state if row else "unknown"
        message = row.last_message if row else None
        since = row.since if row else None
        if not spec.configured:
            state, message, since = "not_configured", spec.why, None
        elif in_maintenance(settings, spec.name, now, windows=windows):
            state = "maintenance"
        elif (
            row is None
            or row.last_checked_at is None
            or now - row.last_checked_at > stale_after(spec)
        ):
            state = "unknown"
        views.append(
            CheckView(
                name=spec.name,
                type=spec.type,
                builtin=spec.builtin,
                target=spec.target,
                state=state,
                since=since,
                last_checked_at=row.last_checked_at if row else None,
                response_ms=row.last_response_ms if row else None,
                message=message,
                uptime_24h=uptime.percent("24h"),
                uptime_7d=uptime.percent("7d"),
                uptime_30d=uptime.percent("30d"),
                incident_id=row.incident_id if row else None,
                interval=spec.interval,
            )
        )
    return views
