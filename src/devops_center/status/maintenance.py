"""Maintenance windows: from dcc.toml and added by admins on /admin/status. Inside one a
check raises no alerts and its results do not count for uptime."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.status.checks import check_specs
from devops_center.status.models import (
    MaintenanceWindowRow,
)


@dataclass(frozen=True)
class Window:
    checks: tuple[str, ...]  # empty: every check
    starts_at: datetime
    ends_at: datetime
    id: str | None = None  # set for windows added on /admin/status (None: from dcc.toml)
    note: str | None = None

    def covers(self, name: str, when: datetime) -> bool:
        return (not self.checks or name in self.checks) and self.starts_at <= when < self.ends_at


WINDOWS_KEPT = timedelta(days=1)  # past windows are read for a day (uptime), then purged
NOTE_MAX = 200


def parse_when(value: str, settings: Settings) -> datetime:
    """ISO 8601; without an offset the time is in the configured time zone."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=settings.tz)
    return parsed.astimezone(UTC)


def maintenance_windows(settings: Settings) -> list[Window]:
    """The windows of dcc.toml ``[[maintenance]]``."""
    return [
        Window(tuple(m.checks), parse_when(m.starts_at, settings), parse_when(m.ends_at, settings))
        for m in settings.maintenance
    ]


async def stored_windows(session: AsyncSession, *, now: datetime | None = None) -> list[Window]:
    """The windows admins added on /admin/status that are not over yet."""
    now = now or utcnow()
    rows = await session.execute(
        select(MaintenanceWindowRow)
        .where(MaintenanceWindowRow.ends_at > now - WINDOWS_KEPT)
        .order_by(MaintenanceWindowRow.starts_at, MaintenanceWindowRow.id)
    )
    return [
        Window(tuple(r.checks or ()), r.starts_at, r.ends_at, id=r.id, note=r.note)
        for r in rows.scalars()
    ]


async def all_windows(session: AsyncSession, settings: Settings) -> list[Window]:
    return maintenance_windows(settings) + await stored_windows(session)


def in_maintenance(
    settings: Settings,
    name: str,
    when: datetime | None = None,
    *,
    windows: list[Window] | None = None,
) -> bool:
    when = when or utcnow()
    pool = windows if windows is not None else maintenance_windows(settings)
    return any(w.covers(name, when) for w in pool)


async def add_window(
    session: AsyncSession,
    *,
    settings: Settings,
    starts_at: str,
    ends_at: str,
    checks: list[str],
    note: str = "",
    now: datetime | None = None,
) -> Window:
    """Add a maintenance window (times in the configured time zone unless they say)."""
    now = now or utcnow()
    fields: dict[str, str] = {}
    start = end = None
    try:
        start = parse_when(starts_at.strip(), settings)
    except ValueError:
        fields["starts_at"] = lazy("Enter a date and time")
    try:
        end = parse_when(ends_at.strip(), settings)
    except ValueError:
        fields["ends_at"] = lazy("Enter a date and time")
    if start is not None and end is not None:
        if end <= start:
            fields["ends_at"] = lazy("The end must be after the start")
        elif end <= now:
            fields["ends_at"] = lazy("The window is already over")
        elif end - start > timedelta(days=7):
            fields["ends_at"] = lazy("A window may last at most 7 days")
    known = {s.name for s in check_specs(settings)}
    chosen = sorted({c.strip() for c in checks if c.strip()})
    if any(c not in known for c in chosen):
        fields["checks"] = lazy("Unknown check")
    if len(note) > NOTE_MAX:
        fields["note"] = lazy("At most 200 characters")
    if fields or start is None or end is None:
        raise Invalid(lazy("The maintenance window was not saved"), fields=fields)
    window = Window(tuple(chosen), start, end, id=uuid.uuid4().hex[:12], note=note.strip() or None)
    session.add(
        MaintenanceWindowRow(
            id=window.id,
            checks=list(window.checks),
            starts_at=start,
            ends_at=end,
            note=window.note,
            created_at=now,
        )
    )
    await session.flush()
    return window


async def remove_window(session: AsyncSession, *, window_id: str) -> None:
    row = await session.get(MaintenanceWindowRow, window_id[:32])
    if row is None:
        raise NotFound(lazy("No such maintenance window"))
    await session.delete(row)
    await session.flush()
