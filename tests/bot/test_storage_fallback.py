"""Redis configured but away: the bot keeps dialogs in the database and says so in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from devops_center.bot.storage import CachedStorage, DatabaseStorage, build_storage


async def test_unreachable_redis_falls_back_to_the_database(
    settings: Any, sessionmaker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    away = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with caplog.at_level(logging.WARNING, logger="devops_center.bot.storage"):
        storage = build_storage(away, sessionmaker)
    assert isinstance(storage, DatabaseStorage)
    assert "Redis does not answer" in caplog.text


async def test_reachable_redis_is_used(settings: Any, sessionmaker: Any) -> None:
    import redis

    from tests.conftest import REDIS_URL, unavailable

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("Redis", str(exc))
    storage = build_storage(settings.model_copy(update={"redis_url": REDIS_URL}), sessionmaker)
    assert isinstance(storage, CachedStorage)
    await storage.close()
