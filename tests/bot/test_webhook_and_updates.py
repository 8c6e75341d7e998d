"""Webhook mode (POST /webhooks/telegram) and updates the bot cannot or should not handle."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from devops_center.bot.runner import run_bot
from devops_center.integrations.telegram.webhook import webhook_secret
from devops_center.outbox.models import WebhookDelivery
from devops_center.processes import service as processes
from devops_center.users.models import User
from tests.bot.standin import StandIn, TgUser, fixture


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"telegram_webhook_url": "https://hub.example.org"}


async def test_webhook_mode_end_to_end(
    app, client, settings, sessionmaker, storage, standin: StandIn
) -> None:
    stop = asyncio.Event()
    wakeup = asyncio.Event()
    app.state.telegram_wakeup = wakeup
    task = asyncio.create_task(
        run_bot(settings, sessionmaker, stop, wakeup=wakeup, storage=storage)
    )
    try:
        hook = await standin.wait_for(lambda c: c.method == "setWebhook")
        assert hook.params["url"] == "https://hub.example.org/webhooks/telegram"
        secret = webhook_secret(settings)
        assert hook.params["secret_token"] == secret
        commands = [c for c in standin.calls if c.method == "setMyCommands"]
        assert {c.params.get("language_code") for c in commands} == {None, "ru"}

        update = fixture("teloxide_update_private_text_message.json")
        update["message"]["text"] = "/start"
        update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
        for header in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            response = await client.post("/webhooks/telegram", json=update, headers=header)
            assert response.status_code == 403
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        assert (
            await client.post("/webhooks/telegram", content=b"{", headers=headers)
        ).status_code == 400
        for _ in range(2):  # Telegram retries a delivery: handled once
            response = await client.post("/webhooks/telegram", json=update, headers=headers)
            assert response.status_code == 200 and response.json() == {"ok": True}
        reply = await standin.wait_for(lambda c: c.method == "sendMessage")
        assert reply.chat_id == 408258968 and reply.text.startswith("Hello, Hirrolot!")
        # the same user continues the dialog in order
        texts = ["/bug", "Webhook bug"]
        for i, text in enumerate(texts):
            nxt = dict(update, update_id=update["update_id"] + 1 + i)
            nxt["message"] = dict(update["message"], text=text, message_id=200 + i)
            if not text.startswith("/"):
                nxt["message"].pop("entities")
            await client.post("/webhooks/telegram", json=nxt, headers=headers)
        await standin.wait_for(lambda c: "Step 2 of 6" in c.text)
        async with sessionmaker() as s:  # the running bot is seen
            assert [p.kind for p in await processes.alive(s)] == ["bot"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    async with sessionmaker() as s:
        rows = list((await s.execute(select(WebhookDelivery))).scalars())
        assert len(rows) == 3 and {r.status for r in rows} == {"processed"}
        assert await processes.alive(s) == []  # a clean stop removes its heartbeat


async def test_webhook_is_closed_without_webhook_mode(tmp_path) -> None:
    import httpx

    from devops_center.web.app import create_app
    from tests.conftest import make_settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}"  # the 404 never touches it
    settings = make_settings(url, tmp_path, telegram_bot_token="1:x")
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.post("/webhooks/telegram", json={"update_id": 1})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"update_id": 1, "m":' + b"[" * 500 + b"]" * 500 + b"}"],
    ids=["recursion", "too-deep"],
)
async def test_deep_json_to_the_telegram_webhook_is_400(tmp_path, body: bytes) -> None:
    import httpx

    from devops_center.integrations.telegram.webhook import webhook_secret
    from devops_center.web.app import create_app
    from tests.conftest import make_settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}"  # refused before any query
    settings = make_settings(
        url, tmp_path, telegram_bot_token="1:x", telegram_webhook_url="https://x.example/h"
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.post(
            "/webhooks/telegram",
            content=body,
            headers={"x-telegram-bot-api-secret-token": webhook_secret(settings)},
        )
    assert response.status_code == 400


async def test_unparseable_and_group_updates_are_logged_and_skipped(
    bot, standin: StandIn, ann: TgUser, sessionmaker, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="devops_center.bot")
    # real payloads aiogram rejects: from.is_bot missing, photo without file_unique_id
    await standin.push(fixture("telegram-docs_update_message_start.json"))
    await standin.push(fixture("illemius_update_message_with_photo.json"))
    await standin.push(fixture("telegram-docs_update_callback_query.json"))
    # group traffic: a pinned-message service update and a command in a supergroup
    await standin.push(fixture("teloxide_update_supergroup_pinned_message.json"))
    await standin.push(fixture("teloxide_update_supergroup_bot_command_reply.json"))
    reply = await ann.ask("/start", "Hello, Ann!")
    assert reply.chat_id == ann.id
    await bot.settle()
    skipped = [r for r in caplog.records if "does not parse" in r.getMessage()]
    assert len(skipped) == 3
    async with sessionmaker() as s:
        tg_ids = list((await s.execute(select(User.telegram_id))).scalars())
        assert tg_ids == [ann.id]
        assert await s.scalar(select(func.count()).select_from(User)) == 1
    assert [c.chat_id for c in standin.sent()] == [ann.id]
