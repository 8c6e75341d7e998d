"""Dialog state on Redis through the per-update cache: read once, written after the commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from devops_center.bot.storage import CURRENT, CachedStorage, UpdateBuffer, redis_storage
from tests.conftest import REDIS_URL, unavailable

KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)


@pytest.fixture
async def inner() -> AsyncIterator[RedisStorage]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("Redis", str(exc))
    prefix = f"dcc-test-fsm-{uuid.uuid4().hex[:8]}"
    storage = redis_storage(REDIS_URL, prefix=prefix)
    yield storage
    keys = [k async for k in storage.redis.scan_iter(f"{prefix}:*")]
    if keys:
        await storage.redis.delete(*keys)
    await storage.close()


async def _commands(storage: RedisStorage) -> int:
    stats: dict[str, Any] = await storage.redis.info("stats")
    return int(stats["total_commands_processed"])


async def test_an_update_reads_the_dialog_once_and_writes_it_after_the_commit(
    inner: RedisStorage,
) -> None:
    await inner.set_state(KEY, "BugDialog:title")
    await inner.set_data(KEY, {"nonce": "abc", "title": "Old"})
    cached = CachedStorage(inner)
    buffer = UpdateBuffer(session=None)  # type: ignore[arg-type]  # Redis needs no session
    token = CURRENT.set(buffer)
    try:
        before = await _commands(inner)
        assert await cached.get_state(KEY) == "BugDialog:title"
        assert await cached.get_data(KEY) == {"nonce": "abc", "title": "Old"}
        # state and data came in one command (the INFO call itself is the other one)
        assert await _commands(inner) - before == 2

        await cached.set_state(KEY, "BugDialog:what_doing")
        await cached.update_data(KEY, {"title": "New"})
        assert await cached.get_state(KEY) == "BugDialog:what_doing"
        # nothing is written before the update's transaction committed
        assert await inner.get_state(KEY) == "BugDialog:title"
        assert await inner.get_data(KEY) == {"nonce": "abc", "title": "Old"}
        await buffer.flush_after_commit()
    finally:
        CURRENT.reset(token)
    assert await inner.get_state(KEY) == "BugDialog:what_doing"
    assert await inner.get_data(KEY) == {"nonce": "abc", "title": "New"}


async def test_a_state_set_before_the_first_read_is_not_overwritten_by_it(
    inner: RedisStorage,
) -> None:
    await inner.set_state(KEY, "BugDialog:confirm")
    await inner.set_data(KEY, {"nonce": "abc"})
    cached = CachedStorage(inner)
    buffer = UpdateBuffer(session=None)  # type: ignore[arg-type]
    token = CURRENT.set(buffer)
    try:
        await cached.set_state(KEY, None)  # e.g. /cancel clears the state first
        assert await cached.get_data(KEY) == {"nonce": "abc"}
        assert await cached.get_state(KEY) is None
        await cached.set_data(KEY, {})
        await buffer.flush_after_commit()
    finally:
        CURRENT.reset(token)
    assert await inner.get_state(KEY) is None
    assert await inner.get_data(KEY) == {}
    assert await inner.redis.exists(inner.key_builder.build(KEY, "state")) == 0
