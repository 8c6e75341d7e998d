"""``POST /webhooks/telegram``: Telegram's webhook, in webhook mode.

The secret header is compared in constant time; the raw update is stored (de-duplicated
by ``update_id``) and the bot consumes it in order (bot/runner.py). Telegram gets its 200
at once, and an update survives a restart of the bot.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.integrations.telegram.webhook import WEBHOOK_PATH, check_secret
from devops_center.outbox.models import WebhookDelivery
from devops_center.web.deps import SettingsDep, get_sessionmaker
from devops_center.web.webhooks.common import BadPayload, decode_object

router = APIRouter()

MAX_BODY = 1024 * 1024


def _kind(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "unknown")[:50]


async def _store(session: AsyncSession, update: dict[str, Any]) -> None:
    """Keep the update for the bot; Telegram's redelivery of one it sent before is
    dropped by the unique (source, delivery_id)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(WebhookDelivery)
        .values(
            source="telegram",
            delivery_id=str(update["update_id"]),
            event=_kind(update),
            payload=update,
            status="received",
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
    )


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def telegram_webhook(request: Request, settings: SettingsDep) -> JSONResponse:
    if not settings.telegram_bot_token or not settings.telegram_webhook_url:
        return JSONResponse({"detail": "the Telegram webhook is not enabled"}, status_code=404)
    if not check_secret(settings, request.headers.get("x-telegram-bot-api-secret-token")):
        return JSONResponse({"detail": "bad secret token"}, status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"detail": "too large"}, status_code=413)
    try:
        update = decode_object(body)
    except BadPayload as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    if not isinstance(update.get("update_id"), int):
        return JSONResponse({"detail": "not a Telegram update"}, status_code=400)
    async with get_sessionmaker(request)() as session, session.begin():
        await _store(session, update)
    wakeup = getattr(request.app.state, "telegram_wakeup", None)
    if isinstance(wakeup, asyncio.Event):
        wakeup.set()
    return JSONResponse({"ok": True})
