"""Conversation (FSM) state of the Telegram bot when Redis is not configured: one row a
dialog, written in the update's transaction, expiring when abandoned."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow


class BotDialog(Base):
    """One conversation's state and data (``{"state": ..., "data": {...}}``); an abandoned
    dialog expires and is purged."""

    __tablename__ = "bot_dialogs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


async def load(session: AsyncSession, key: str) -> dict[str, Any]:
    row = (
        await session.execute(
            select(BotDialog.value).where(BotDialog.key == key, BotDialog.expires_at >= utcnow())
        )
    ).scalar_one_or_none()
    return dict(row) if isinstance(row, dict) else {}


async def store(session: AsyncSession, key: str, value: dict[str, Any], ttl: timedelta) -> None:
    if value.get("state") is None and not value.get("data"):
        await session.execute(delete(BotDialog).where(BotDialog.key == key))
        return
    expires = utcnow() + ttl
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(BotDialog).values(key=key, value=value, expires_at=expires)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": stmt.excluded.value, "expires_at": expires}
        )
    )


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(delete(BotDialog).where(BotDialog.expires_at < utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
