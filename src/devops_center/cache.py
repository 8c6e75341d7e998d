"""A shared cache of values that can be dropped at any time (every entry expires).

Anything that has a meaning beyond saving work — a state, a lock, a record of what was
done — gets a table of its own instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Executable, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow


class CacheEntry(Base):
    __tablename__ = "cache_entries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


async def get(session: AsyncSession, *, key: str) -> Any:
    """The live value under ``key``, or None."""
    # A fresh SELECT, not session.get(): put() writes with a Core upsert that the
    # identity map never sees, so a cached row would be stale.
    row = (
        await session.execute(
            select(CacheEntry.value, CacheEntry.expires_at).where(CacheEntry.key == key)
        )
    ).one_or_none()
    if row is None or row.expires_at < utcnow():
        return None
    return row.value


async def get_many(session: AsyncSession, keys: list[str]) -> dict[str, Any]:
    """The live entries among ``keys`` (one query)."""
    rows = await session.execute(
        select(CacheEntry.key, CacheEntry.value).where(
            CacheEntry.key.in_(keys), CacheEntry.expires_at >= utcnow()
        )
    )
    return {str(k): v for k, v in rows}


def upsert(dialect: str, *, key: str, value: Any, ttl: timedelta) -> Executable:
    """The statement that stores ``value`` under ``key`` for ``ttl`` (insert or replace)."""
    expires = utcnow() + ttl
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(CacheEntry).values(key=key, value=value, expires_at=expires)
    return stmt.on_conflict_do_update(
        index_elements=["key"], set_={"value": stmt.excluded.value, "expires_at": expires}
    )


async def put(session: AsyncSession, *, key: str, value: Any, ttl: timedelta) -> None:
    await session.execute(upsert(session.get_bind().dialect.name, key=key, value=value, ttl=ttl))


async def drop(session: AsyncSession, *, key: str) -> None:
    await session.execute(delete(CacheEntry).where(CacheEntry.key == key))


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(delete(CacheEntry).where(CacheEntry.expires_at < utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
