"""The bot through a database outage: updates wait for the database instead of being
answered "something went wrong" and dropped, in long polling and in webhook mode.

The bot reaches PostgreSQL through a TCP proxy the test cuts (every connection closed,
new ones refused) and restores, as a database restart looks from the bot's side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from devops_center.bot.runner import run_bot
from devops_center.db import make_engine, make_sessionmaker
from devops_center.integrations.telegram.webhook import webhook_secret
from devops_center.outbox.models import WebhookDelivery
from tests.bot.conftest import RunningBot
from tests.bot.standin import StandIn, TgUser

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

SORRY = "something went wrong"


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut`` drops every connection and refuses
    new ones until ``restore``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.transport.abort()
        await self.server.wait_closed()

    async def restore(self) -> None:
        await self.start()


@pytest.fixture
async def outage(db_url: str) -> AsyncIterator[tuple[TcpProxy, AsyncEngine]]:
    url = make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    yield proxy, engine
    await engine.dispose()
    with contextlib.suppress(Exception):
        await proxy.cut()


async def test_polling_bot_answers_after_the_database_returns(
    settings, storage, standin: StandIn, ann: TgUser, outage: tuple[TcpProxy, AsyncEngine]
) -> None:
    proxy, engine = outage
    bot = RunningBot(settings, make_sessionmaker(engine), storage)
    await bot.start()
    try:
        await ann.send_text("/start")
        await standin.wait_for(lambda c: "Hello" in c.text, chat_id=ann.id)
        await proxy.cut()
        seen = len(standin.calls)
        await ann.send_text("/bug")
        await asyncio.sleep(2.5)  # the update is tried and put back while the database is away
        assert not [c for c in standin.calls[seen:] if c.method == "sendMessage"]
        await proxy.restore()
        step = await standin.wait_for(
            lambda c: "Step 1 of 6" in c.text, chat_id=ann.id, after=seen, timeout=30
        )
        assert step.chat_id == ann.id
        assert not [c for c in standin.calls if SORRY in c.text]
    finally:
        await bot.stop()


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"telegram_webhook_url": "https://hub.example.org"}


async def test_webhook_bot_survives_the_database_going_away(
    app,
    client,
    settings,
    sessionmaker,
    storage,
    standin: StandIn,
    outage: tuple[TcpProxy, AsyncEngine],
) -> None:
    """The web stores the updates (its own connections); the bot's inbox loop and its
    handlers lose the database for a while, then handle every update, once, in order."""
    proxy, engine = outage
    stop, wakeup = asyncio.Event(), asyncio.Event()
    app.state.telegram_wakeup = wakeup
    bot_db = make_sessionmaker(engine)
    task = asyncio.create_task(run_bot(settings, bot_db, stop, wakeup=wakeup, storage=storage))
    headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(settings)}
    chat = 5550077

    def update(n: int, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": n,
            "date": 1_700_000_000 + n,
            "chat": {"id": chat, "type": "private", "first_name": "Vera"},
            "from": {"id": chat, "is_bot": False, "first_name": "Vera", "language_code": "en"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return {"update_id": 9000 + n, "message": message}

    try:
        await standin.wait_for(lambda c: c.method == "setWebhook")
        assert await client.post("/webhooks/telegram", json=update(1, "/start"), headers=headers)
        await standin.wait_for(lambda c: "Hello" in c.text, chat_id=chat)
        await proxy.cut()
        seen = len(standin.calls)
        for n, text in ((2, "/bug"), (3, "The export button does nothing")):
            response = await client.post(
                "/webhooks/telegram", json=update(n, text), headers=headers
            )
            assert response.status_code == 200
            wakeup.set()
        await asyncio.sleep(2.5)
        assert not [c for c in standin.calls[seen:] if c.method == "sendMessage"]
        await proxy.restore()
        wakeup.set()
        await standin.wait_for(lambda c: "Step 2 of 6" in c.text, chat_id=chat, timeout=40)
        assert not [c for c in standin.calls if SORRY in c.text]
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    async with sessionmaker() as s:
        rows = list((await s.execute(select(WebhookDelivery))).scalars())
        assert len(rows) == 3 and {r.status for r in rows} == {"processed"}
