"""Fixtures for the bot: a stand-in Bot API server, settings pointing at it, a running bot.

On ``[sqlite]`` the dialog state lives in the database (our kv storage); on
``[postgresql]`` in Redis (aiogram's RedisStorage, a unique key prefix per test).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.redis import RedisStorage

from devops_center.bot import storage as storage_module
from devops_center.bot.runner import BotRunner
from devops_center.bot.storage import DatabaseStorage
from devops_center.config import Settings
from tests.bot.standin import StandIn, TgUser
from tests.conftest import REDIS_URL, make_settings, unavailable

SUPERADMIN_TG = 777000001


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    server = StandIn()
    await server.start()
    yield server
    await server.stop()
    # Every request the bot made must be one the real Bot API accepts (valid HTML, the
    # length limits in UTF-16 units, callback data and answers in their limits).
    assert not [(c.method, c.result["description"]) for c in server.refused]


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    """Extra settings for a test module (override in the module)."""
    return {}


@pytest.fixture
def settings(
    db_url: str, tmp_path: Path, standin: StandIn, bot_overrides: dict[str, Any]
) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": standin.token,
        "telegram_api_url": standin.url,
        "superadmin_telegram_ids": str(SUPERADMIN_TG),
        "telegram_chat_id": -100500,
        "base_url": "http://hub.test",
    }
    values.update(bot_overrides)
    return make_settings(db_url, tmp_path, **values)


async def _redis_storage(prefix: str) -> RedisStorage:
    storage = storage_module.redis_storage(REDIS_URL, prefix=prefix)
    try:
        await storage.redis.ping()
    except Exception as exc:
        await storage.close()
        unavailable("Redis", str(exc))
    return storage


@pytest.fixture
async def storage(db_url: str, sessionmaker: Any) -> AsyncIterator[BaseStorage]:
    if db_url.startswith("sqlite"):
        yield DatabaseStorage(sessionmaker)
        return
    prefix = f"dcc-test-fsm-{uuid.uuid4().hex[:10]}"
    redis_storage = await _redis_storage(prefix)
    yield redis_storage
    keys = [k async for k in redis_storage.redis.scan_iter(f"{prefix}:*")]
    if keys:
        await redis_storage.redis.delete(*keys)
    await redis_storage.close()


class RunningBot:
    """A BotRunner long-polling the stand-in until stopped (restartable)."""

    def __init__(self, settings: Settings, sessionmaker: Any, storage: BaseStorage) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.storage = storage
        self.runner: BotRunner | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> BotRunner:
        self.runner = BotRunner(
            self.settings, self.sessionmaker, storage=self.storage, poll_timeout=2
        )
        await self.runner.startup()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.runner.poll(self._stop))
        return self.runner

    async def settle(self) -> None:
        """Wait until every update handed to the bot is fully handled (and committed)."""
        assert self.runner is not None
        for _ in range(3):
            await asyncio.sleep(0)
        await self.runner.drain_tasks()

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 10)
            self._task = None
        if self.runner is not None:
            await self.runner.bot.session.close()


@pytest.fixture
async def bot(
    settings: Settings, sessionmaker: Any, storage: BaseStorage
) -> AsyncIterator[RunningBot]:
    running = RunningBot(settings, sessionmaker, storage)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def ann(standin: StandIn) -> TgUser:
    return TgUser(standin, 5550001, lang="en", first_name="Ann")


@pytest.fixture
def boss(standin: StandIn) -> TgUser:
    return TgUser(standin, SUPERADMIN_TG, lang="ru", first_name="Ольга")


# the evaluation FAQ, stored and indexed with the real model (tests/brain/conftest.py)
from tests.brain.conftest import eval_set, faq, model  # noqa: E402, F401
