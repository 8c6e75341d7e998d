"""Dialog (FSM) state: Redis when ``REDIS_URL`` is set, otherwise our own database.

:class:`DatabaseStorage` keeps each conversation in one ``bot_dialogs`` row. While an update
is being handled, reads and writes go to a per-update buffer that the session middleware
writes in the update's own transaction just before it commits (so the state of a dialog
and, say, the bug it just filed commit together, and SQLite's write lock is held only
for the final moment). Outside an update it uses a short transaction of its own.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center import dialogs
from devops_center.config import Settings

STATE_TTL = timedelta(days=7)  # an abandoned dialog is forgotten after a week


def kv_key(key: StorageKey) -> str:
    return f"fsm:{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or 0}:{key.destiny}"


@dataclass
class _Cached:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    has_state: bool = False
    has_data: bool = False
    dirty_state: bool = False
    dirty_data: bool = False


@dataclass
class UpdateBuffer:
    """The database session and the dialog state of the update being handled.

    :meth:`commit` is the update's commit point; it runs at the end of the update and
    before every Bot API call the handler makes (``CommitBeforeSending``), so the user is
    told only what is stored, and no database transaction, connection or SQLite turn is
    held while Telegram answers.
    """

    session: AsyncSession
    turn: asyncio.Lock | None = None  # SQLite: the updates of this process take turns
    holding: bool = False
    sent: bool = False  # a Bot API call was made: the update can no longer be retried
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    cached: dict[tuple[int, StorageKey], tuple[BaseStorage, _Cached]] = field(default_factory=dict)

    async def take_turn(self) -> None:
        if self.turn is not None and not self.holding:
            await self.turn.acquire()
            self.holding = True

    def give_turn(self) -> None:
        if self.turn is not None and self.holding:
            self.turn.release()
            self.holding = False

    async def commit(self) -> None:
        """Store what the update did so far: database first, then the Redis dialog state."""
        await self.flush()
        await self.session.commit()
        await self.flush_after_commit()

    async def flush_after_commit(self) -> None:
        """Write what a :class:`CachedStorage` buffered (Redis), once the update committed.

        On Redis the state and the data of a dialog go in one MULTI/EXEC round trip, so
        they change together. The values stay cached for the rest of the update.
        """
        for (_id, key), (inner, entry) in self.cached.items():
            if not (entry.dirty_state or entry.dirty_data):
                continue
            if isinstance(inner, RedisStorage):
                async with inner.redis.pipeline(transaction=True) as pipe:
                    queued = copy.copy(inner)  # aiogram's own encoding, on the pipeline
                    queued.redis = pipe
                    await _write(queued, key, entry)
                    await pipe.execute()
            else:
                await _write(inner, key, entry)
            entry.dirty_state = entry.dirty_data = False

    async def flush(self) -> None:
        for name in sorted(self.dirty):
            await dialogs.store(self.session, name, self.rows[name], STATE_TTL)
        self.dirty.clear()


async def _write(storage: BaseStorage, key: StorageKey, entry: _Cached) -> None:
    if entry.dirty_state:
        await storage.set_state(key, entry.state)
    if entry.dirty_data:
        await storage.set_data(key, entry.data)


async def _read(storage: BaseStorage, key: StorageKey, entry: _Cached) -> None:
    """Fill in what ``entry`` does not hold yet (on Redis state and data in one round trip).

    A part the update already set is kept: it is newer than what is stored.
    """
    state: str | None
    data: dict[str, Any]
    if isinstance(storage, RedisStorage):
        build = storage.key_builder.build
        raw_state, raw_data = await storage.redis.mget(build(key, "state"), build(key, "data"))
        if isinstance(raw_state, bytes):
            raw_state = raw_state.decode("utf-8")
        if isinstance(raw_data, bytes):
            raw_data = raw_data.decode("utf-8")
        state = raw_state if isinstance(raw_state, str) else None
        loaded = storage.json_loads(raw_data) if isinstance(raw_data, str) else {}
        data = dict(loaded) if isinstance(loaded, dict) else {}
    else:
        state = None if entry.has_state else await storage.get_state(key)
        data = {} if entry.has_data else dict(await storage.get_data(key))
    if not entry.has_state:
        entry.state, entry.has_state = state, True
    if not entry.has_data:
        entry.data, entry.has_data = data, True


CURRENT: ContextVar[UpdateBuffer | None] = ContextVar("dcc_bot_update_buffer", default=None)


def _state_name(state: StateType) -> str | None:
    if isinstance(state, State):
        return state.state
    return state


log = logging.getLogger("devops_center.bot.storage")


class DatabaseStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def _read(self, key: StorageKey) -> dict[str, Any]:
        name = kv_key(key)
        buffer = CURRENT.get()
        if buffer is not None:
            if name not in buffer.rows:
                buffer.rows[name] = await dialogs.load(buffer.session, name)
            return buffer.rows[name]
        async with self.sessionmaker() as session:
            return await dialogs.load(session, name)

    async def _write(self, key: StorageKey, row: dict[str, Any]) -> None:
        name = kv_key(key)
        buffer = CURRENT.get()
        if buffer is not None:
            buffer.rows[name] = row
            buffer.dirty.add(name)
            return
        async with self.sessionmaker() as session, session.begin():
            await dialogs.store(session, name, row, STATE_TTL)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        row = dict(await self._read(key))
        row["state"] = _state_name(state)
        await self._write(key, row)

    async def get_state(self, key: StorageKey) -> str | None:
        state = (await self._read(key)).get("state")
        return str(state) if state is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        row = dict(await self._read(key))
        row["data"] = dict(data)
        await self._write(key, row)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data = (await self._read(key)).get("data")
        return dict(data) if isinstance(data, dict) else {}

    async def close(self) -> None:
        return None


class CachedStorage(BaseStorage):
    """Another storage (Redis) seen through a per-update cache.

    Within an update, each dialog is read at most once (state and data together) and
    written once, after the update's transaction committed (a rolled-back update leaves
    the dialog where it was).
    """

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    def _entry(self, key: StorageKey) -> _Cached | None:
        buffer = CURRENT.get()
        if buffer is None:
            return None
        slot = (id(self), key)
        if slot not in buffer.cached:
            buffer.cached[slot] = (self.inner, _Cached())
        return buffer.cached[slot][1]

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        entry = self._entry(key)
        if entry is None:
            await self.inner.set_state(key, state)
            return
        entry.state, entry.has_state, entry.dirty_state = _state_name(state), True, True

    async def get_state(self, key: StorageKey) -> str | None:
        entry = self._entry(key)
        if entry is None:
            return await self.inner.get_state(key)
        if not entry.has_state:
            await _read(self.inner, key, entry)
        return entry.state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        entry = self._entry(key)
        if entry is None:
            await self.inner.set_data(key, data)
            return
        entry.data, entry.has_data, entry.dirty_data = dict(data), True, True

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        entry = self._entry(key)
        if entry is None:
            return await self.inner.get_data(key)
        if not entry.has_data:
            await _read(self.inner, key, entry)
        return dict(entry.data)

    async def close(self) -> None:
        await self.inner.close()


def cached(storage: BaseStorage) -> BaseStorage:
    """The storage the dispatcher uses: ours as is, any other behind a per-update cache."""
    if isinstance(storage, DatabaseStorage | CachedStorage):
        return storage
    return CachedStorage(storage)


def _redis_answers(url: str) -> bool:
    """A quick PING at start-up, so an unreachable Redis means a fallback, not errors."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


REDIS_POOL_SIZE = 20


def redis_storage(url: str, *, prefix: str = "dcc:fsm") -> RedisStorage:
    """aiogram's Redis storage over a *blocking* pool of ``REDIS_POOL_SIZE`` connections.

    redis-py's default pool refuses a command outright ("Too many connections") when
    more than 100 are in flight, which 100 users talking at once reach; a blocking pool
    makes the extra commands wait a moment for a free connection instead.
    """
    from redis.asyncio import BlockingConnectionPool, Redis

    pool = BlockingConnectionPool.from_url(url, max_connections=REDIS_POOL_SIZE, timeout=10)
    return RedisStorage(
        Redis(connection_pool=pool),
        key_builder=DefaultKeyBuilder(prefix=prefix, with_bot_id=True),
        state_ttl=STATE_TTL,
        data_ttl=STATE_TTL,
    )


def build_storage(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    redis_prefix: str = "dcc:fsm",
) -> BaseStorage:
    if settings.redis_url and not _redis_answers(settings.redis_url):
        log.warning(
            "REDIS_URL is set but Redis does not answer: dialog state is kept in the "
            "database instead (restart the bot once Redis is back to use it)"
        )
    elif settings.redis_url:
        return CachedStorage(redis_storage(settings.redis_url, prefix=redis_prefix))
    return DatabaseStorage(sessionmaker)
