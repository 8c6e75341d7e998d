"""Running the Telegram bot: long polling (default) or webhook.

Both modes feed raw updates through :meth:`BotRunner.process_raw`, which handles the
updates of one chat strictly in order (different chats run concurrently), and logs and
skips an update it cannot parse instead of crashing.

* Long polling: ``getUpdates`` against ``TELEGRAM_API_URL``.
* Webhook (``DCC_TELEGRAM_WEBHOOK_URL``): the web app verifies and stores each update
  in ``webhook_deliveries`` (source ``telegram``) and answers at once; this runner sets
  the webhook on start and consumes the stored updates in order. The web and the bot
  may be different processes; in the embedded server the web wakes the bot directly.

When the database is unavailable (a restart, a failover) an update whose handler has not
yet sent anything is handled again after a pause (``RETRY_DELAYS``, about two minutes in
all) instead of being answered with an apology; the inbox loop and the start-up wait for
the database the same way, so a database restart never stops the bot or loses an update.

While it runs, the bot keeps its row in ``process_heartbeats`` fresh (the status check
reads it; ``dcc restore`` refuses to run under it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.bot.app import build_bot, build_dispatcher, set_commands, set_menu_button
from devops_center.bot.middlewares.session import RetryLater
from devops_center.config import Settings
from devops_center.db import db_error_kind, utcnow
from devops_center.i18n import pick_language
from devops_center.integrations.telegram.webhook import webhook_secret, webhook_url
from devops_center.notify import links
from devops_center.outbox.models import WebhookDelivery
from devops_center.processes.service import Heartbeat
from devops_center.users import service as users

log = logging.getLogger("devops_center.bot")
T = TypeVar("T")

ALLOWED_UPDATES = ["message", "callback_query"]
# Pauses (seconds) before handling an update again while the database is unavailable.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 30.0)


def chat_of(raw: dict[str, Any]) -> int | None:
    """The chat an update belongs to (for per-chat ordering), from the raw JSON."""
    for key in ("message", "edited_message", "callback_query"):
        obj = raw.get(key)
        if not isinstance(obj, dict):
            continue
        if key == "callback_query":
            msg = obj.get("message")
            obj = msg if isinstance(msg, dict) else {"chat": obj.get("from")}
        chat = obj.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    return None


class BotRunner:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        storage: BaseStorage | None = None,
        poll_timeout: int = 25,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.bot: Bot = build_bot(settings)
        self.dp: Dispatcher = build_dispatcher(settings, sessionmaker, storage=storage)
        self.poll_timeout = poll_timeout
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ processing

    async def process_raw(self, raw: dict[str, Any]) -> None:
        """Handle one update; updates of the same chat run one after another, in order."""
        chat = chat_of(raw)
        if chat is None:
            await self._handle(raw)
            return
        lock, users_ = self._locks.get(chat) or (asyncio.Lock(), 0)
        self._locks[chat] = (lock, users_ + 1)
        try:
            async with lock:
                await self._handle(raw)
        finally:
            lock, users_ = self._locks[chat]
            if users_ <= 1:
                del self._locks[chat]
            else:
                self._locks[chat] = (lock, users_ - 1)

    def submit(self, raw: dict[str, Any]) -> asyncio.Task[None]:
        """Start handling ``raw`` now (order per chat is kept by the chat lock)."""
        task = asyncio.create_task(self.process_raw(raw))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, raw: dict[str, Any]) -> None:
        try:
            parsed = Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as exc:
            log.warning(
                "skipping update %s that does not parse: %s",
                raw.get("update_id"),
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3]),
            )
            return
        for delay in (*RETRY_DELAYS, None):
            try:
                await self.dp.feed_update(self.bot, parsed, may_retry=delay is not None)
                return
            except RetryLater:
                assert delay is not None
                await asyncio.sleep(delay)
            except Exception:
                log.exception("update %s failed", raw.get("update_id"))
                return

    async def drain_tasks(self, wait_seconds: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=wait_seconds)

    # ---------------------------------------------------------------------- set-up

    async def startup(self) -> None:
        # Everything built so far (modules, routers, models) lives as long as the process:
        # move it out of the collector's sight, so that the collections caused by handling
        # updates scan only their own short-lived objects (bench/bot.py: GC pauses were a
        # sixth of the bot's CPU time before).
        gc.collect()
        gc.freeze()
        # Each update allocates a few thousand short-lived objects (the parsed update,
        # pydantic models of requests and answers, ORM rows): with the default threshold
        # of 700 the collector ran every few updates (bench/bot.py: GC pauses were ~10% of
        # the bot's time back to back); 10,000 makes the young collections rarer.
        gc.set_threshold(10_000, 20, 20)
        try:
            async with self.sessionmaker() as session:
                admins = [
                    (
                        u.telegram_id,
                        pick_language(u.language, default=self.settings.default_language),
                    )
                    for u in await users.list_admins(session)
                    if u.telegram_id
                ]
            await set_commands(self.bot, admins)
            await set_menu_button(self.bot, self.settings)
            me = await self.bot.me()
            if me.username:  # the web's "Report in Telegram" links need the bot's name
                async with self.sessionmaker() as session, session.begin():
                    await links.remember_username(session, me.username)
        except Exception as exc:  # cosmetic: never keep the bot from running
            log.warning("setting the commands / getMe failed: %s", exc)

    async def close(self) -> None:
        await self.dp.storage.close()
        await self.bot.session.close()

    # --------------------------------------------------------------------- polling

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling until ``stop``; confirms processed updates on the way out."""
        token = self.settings.telegram_bot_token
        assert token is not None
        url = f"{self.settings.telegram_api_url}/bot{token.get_secret_value()}/getUpdates"
        offset: int | None = None
        backoff = 1.0
        async with httpx.AsyncClient(timeout=self.poll_timeout + 10) as client:
            with contextlib.suppress(Exception):
                await self.bot.delete_webhook(drop_pending_updates=False)
            while not stop.is_set():
                request = asyncio.create_task(
                    client.post(
                        url,
                        json={
                            "offset": offset,
                            "timeout": self.poll_timeout,
                            "allowed_updates": ALLOWED_UPDATES,
                        },
                    )
                )
                stopper = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait(
                    {request, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                stopper.cancel()
                if request not in done:
                    request.cancel()
                    with contextlib.suppress(BaseException):
                        await request
                    break
                try:
                    response = request.result()
                    body = response.json()
                    if response.status_code != 200 or not body.get("ok"):
                        raise RuntimeError(f"getUpdates: {response.status_code} {body}")
                    updates = body.get("result") or []
                    backoff = 1.0
                except Exception as exc:
                    log.warning("getUpdates failed (%s); retrying in %.0fs", exc, backoff)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=backoff)
                    backoff = min(backoff * 2, 60.0)
                    continue
                for raw in updates:
                    if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
                        continue
                    offset = max(offset or 0, raw["update_id"] + 1)
                    self.submit(raw)
            await self.drain_tasks()
            if offset is not None:  # confirm what we handled, so a restart does not repeat it
                with contextlib.suppress(Exception):
                    await client.post(url, json={"offset": offset, "timeout": 0, "limit": 1})

    # --------------------------------------------------------------------- webhook

    async def set_webhook(self) -> None:
        url = webhook_url(self.settings)
        assert url is not None
        await self.bot.set_webhook(
            url,
            secret_token=webhook_secret(self.settings),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        log.info("webhook set to %s", url)

    async def consume_inbox(
        self, stop: asyncio.Event, wakeup: asyncio.Event | None = None, *, idle: float = 0.5
    ) -> None:
        """Handle the updates the web app stored, in arrival order per chat.

        Survives the database going away: each round that fails on an unavailable
        database waits (up to 30 s, doubling) and tries again.
        """
        await self._until_done(stop, self._reclaim_interrupted)
        while not stop.is_set():
            batch = await self._until_done(stop, self.claim_inbox)
            if batch:
                tasks = [self._inbox_task(row_id, raw) for row_id, raw in batch]
                await asyncio.gather(*tasks)
                continue
            waiters: list[Awaitable[Any]] = [stop.wait()]
            if wakeup is not None:
                waiters.append(wakeup.wait())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(waiters), timeout=idle)
            if wakeup is not None:
                wakeup.clear()

    async def claim_inbox(self, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
        async with self.sessionmaker() as session, session.begin():
            stmt = (
                select(WebhookDelivery.id, WebhookDelivery.payload)
                .where(WebhookDelivery.source == "telegram", WebhookDelivery.status == "received")
                .order_by(WebhookDelivery.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = [(int(i), dict(p or {})) for i, p in await session.execute(stmt)]
            if rows:
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_([i for i, _ in rows]))
                    .values(status="processing")
                )
            return rows

    async def _reclaim_interrupted(self) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(  # a previous run died mid-update: take them again
                update(WebhookDelivery)
                .where(WebhookDelivery.source == "telegram", WebhookDelivery.status == "processing")
                .values(status="received")
            )

    async def _inbox_task(self, row_id: int, raw: dict[str, Any]) -> None:
        await self.submit(raw)

        async def done() -> None:
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == row_id)
                    .values(status="processed", processed_at=utcnow())
                )

        await self._until_done(None, done)

    async def _until_done(
        self, stop: asyncio.Event | None, step: Callable[[], Awaitable[T]]
    ) -> T | None:
        """Run ``step``; while the database is unavailable, wait and run it again.
        ``None`` when ``stop`` is set first."""
        backoff = 0.5
        while stop is None or not stop.is_set():
            try:
                return await step()
            except Exception as exc:
                if db_error_kind(exc) != "unavailable":
                    raise
                log.warning("database unavailable (%s); retrying in %.1fs", exc, backoff)
                if stop is None:
                    await asyncio.sleep(backoff)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 30.0)
        return None


async def _first(waiters: list[Awaitable[Any]]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waiters]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


async def run_bot(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    *,
    wakeup: asyncio.Event | None = None,
    storage: BaseStorage | None = None,
    poll_timeout: int = 25,
) -> None:
    """Run the bot until ``stop`` is set: webhook mode when configured, else long polling."""
    runner = BotRunner(settings, sessionmaker, storage=storage, poll_timeout=poll_timeout)
    heartbeat = Heartbeat.start(sessionmaker, "bot")
    try:
        await runner.startup()
        if webhook_url(settings):
            backoff = 1.0
            while not stop.is_set():
                try:
                    await runner.set_webhook()
                    break
                except Exception as exc:
                    log.warning("setWebhook failed (%s); retrying in %.0fs", exc, backoff)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=backoff)
                    backoff = min(backoff * 2, 60.0)
            await runner.consume_inbox(stop, wakeup)
        else:
            log.info("bot started (long polling via %s)", settings.telegram_api_url)
            await runner.poll(stop)
    finally:
        await heartbeat.stop()
        await runner.drain_tasks()
        await runner.close()
        log.info("bot stopped")
