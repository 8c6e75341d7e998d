"""Hour arithmetic shared by uptime, history and retention, and the roll-up watermark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, cast, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from devops_center.status.models import RollupWatermark


def epoch(session: AsyncSession, column: Any) -> ColumnElement[int]:
    """Seconds since 1970 of a timestamp column, as an integer, in SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), Integer)


def floor_hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(when: datetime) -> datetime:
    floor = floor_hour(when)
    return floor if floor == when else floor + timedelta(hours=1)


async def rolled_until(session: AsyncSession) -> datetime | None:
    """Every result before this hour is in the roll-ups (None: nothing rolled up yet)."""
    row = await session.get(RollupWatermark, 1, populate_existing=True)
    return row.rolled_until if row is not None else None


async def set_rolled_until(session: AsyncSession, when: datetime) -> None:
    row = await session.get(RollupWatermark, 1)
    if row is None:
        session.add(RollupWatermark(id=1, rolled_until=floor_hour(when)))
    else:
        row.rolled_until = floor_hour(when)
    await session.flush()
