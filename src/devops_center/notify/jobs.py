"""Telegram notifications: ``notify.user``, ``notify.admin`` and the daily ``notify.digest``.

Texts are built when the job runs, from the database, in the recipient's language.
Telegram's answers map onto the worker's rules: 429 → wait ``retry_after`` and retry;
403 (blocked by the user) → mark the user and stop; other errors → retry with backoff
(visible as the job's ``last_error`` on the dashboard).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.digest import service as digest
from devops_center.i18n import pick_language
from devops_center.integrations.telegram.client import (
    TelegramBadRequest,
    TelegramForbidden,
    TelegramRetryAfter,
    client_for,
)
from devops_center.notify.commands import commands
from devops_center.notify.links import menu_button
from devops_center.notify.models import SentAlert
from devops_center.notify.texts import admin_alert, user_text
from devops_center.outbox import messages as m
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.outbox.registry import (
    JobContext,
    Periodic,
    PermanentFailure,
    RetryLater,
    handles,
    periodic,
)
from devops_center.users import service as users
from devops_center.users.models import User

log = logging.getLogger("devops_center.notify")

DIGEST_LATE = timedelta(hours=6)  # a worker that was down all morning skips the day


async def send(
    ctx: JobContext,
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    reply_markup: dict[str, Any] | None = None,
) -> list[Any] | None:
    """Send ``text``: the sent messages, or None when the recipient blocked the bot."""
    async with client_for(ctx.settings) as client:
        try:
            return await client.send_message(chat_id, text, reply_markup=reply_markup)
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        except TelegramForbidden as exc:
            log.info("chat %s refuses messages (%s)", chat_id, exc)
            if user_id is not None:
                async with ctx.sessionmaker() as session, session.begin():
                    user = await session.get(User, user_id)
                    if user is not None:
                        user.telegram_blocked = True
                return None
            raise PermanentFailure(str(exc)) from exc
        except TelegramBadRequest as exc:
            raise PermanentFailure(str(exc)) from exc


@handles(m.NotifyUser)
async def notify_user(ctx: JobContext, msg: m.NotifyUser) -> None:
    if not ctx.settings.telegram_bot_token:
        return  # the bot is off: nothing to deliver through
    async with ctx.sessionmaker() as session, session.begin():
        user = await session.get(User, msg.user_id)
        if user is None or not user.telegram_id or user.telegram_blocked or not user.is_active:
            return
        if user.notify_via == "none" and msg.event != "digest":  # the digest has its own switch
            return
        lang = pick_language(user.language, default=ctx.settings.default_language)
        text = await user_text(session, ctx.settings, user, lang, msg)
        chat_id, user_id = user.telegram_id, user.id
    if text:
        await send(ctx, chat_id, text, user_id=user_id)


@handles(m.NotifyAdmins)
async def notify_admin(ctx: JobContext, msg: m.NotifyAdmins) -> None:
    chat_id = ctx.settings.telegram_chat_id
    if not ctx.settings.telegram_bot_token or chat_id is None:
        return
    key = f"check:{msg.incident_id}" if msg.incident_id else None
    async with ctx.sessionmaker() as session, session.begin():
        lang = await chat_language(session, ctx.settings, chat_id)
        alert = await admin_alert(session, ctx.settings, lang, msg)
        down = await session.get(SentAlert, key) if key and msg.event == "check_up" else None
        edit = (down.chat_id, down.message_id) if down is not None else None
    if alert is None:
        return
    text, markup = alert.full_text(ctx.settings), alert.markup(ctx.settings)
    if edit is not None and await _edit(ctx, edit, text, markup):
        async with ctx.sessionmaker() as session, session.begin():
            await session.execute(delete(SentAlert).where(SentAlert.key == key))
        return
    sent = await send(ctx, chat_id, text, reply_markup=markup)
    if sent and key and msg.event == "check_down":  # edited in place when it recovers
        async with ctx.sessionmaker() as session, session.begin():
            await session.merge(
                SentAlert(key=key, chat_id=chat_id, message_id=int(sent[-1]["message_id"]))
            )


async def chat_language(session: AsyncSession, settings: Settings, chat_id: int) -> str:
    """The admin chat's language: its owner's when it is a person's private chat with
    the bot, else ``DCC_DEFAULT_LANGUAGE``."""
    user = await users.get_by_telegram_id(session, telegram_id=chat_id)
    return pick_language(user.language if user else None, default=settings.default_language)


async def _edit(
    ctx: JobContext, where: tuple[int, int], text: str, markup: dict[str, Any] | None
) -> bool:
    """Edit a sent alert; False when Telegram no longer lets us (deleted, too old)."""
    async with client_for(ctx.settings) as client:
        try:
            await client.edit_message_text(where[0], where[1], text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        except (TelegramBadRequest, TelegramForbidden) as exc:
            log.info("could not edit alert %s: %s; sending a new one", where, exc)
            return False
    return True


@handles(m.SetChatCommands)
async def chat_commands(ctx: JobContext, msg: m.SetChatCommands) -> None:
    """setMyCommands for one user's chat (BotCommandScopeChat) and its menu button (the
    Mini App), in their language."""
    if not ctx.settings.telegram_bot_token:
        return
    async with ctx.sessionmaker() as session:
        user = await session.get(User, msg.user_id)
        if user is None or not user.telegram_id:
            return
        lang = pick_language(user.language, default=ctx.settings.default_language)
        admin = users.is_admin(user) and user.is_active
        chat_id = user.telegram_id
    params = {
        "commands": commands(lang, admin=admin),
        "scope": {"type": "chat", "chat_id": chat_id},
    }
    button = {"chat_id": chat_id, "menu_button": menu_button(ctx.settings, lang)}
    async with client_for(ctx.settings) as client:
        try:
            await client.call("setMyCommands", params)
            await client.call("setChatMenuButton", button)
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        except (TelegramBadRequest, TelegramForbidden) as exc:  # never talked to the bot
            log.info("no commands for chat %s: %s", chat_id, exc)


@handles(m.SendDigest)
async def notify_digest(ctx: JobContext, msg: m.SendDigest) -> None:
    """Fan out today's morning digest: one ``notify.user`` job per admin, once per day."""
    async with ctx.sessionmaker() as session, session.begin():
        # The day is the period the scheduler enqueued this job for (its unique key).
        row = await session.get(Job, ctx.job_id)
        key = (row.unique_key or "") if row is not None else ""
        day = key.rsplit(":", 1)[-1] if key.startswith("periodic:") else None
        day = day or digest.morning_key(ctx.settings, utcnow())
        if day is None:
            return
        for admin in await users.list_admins(session):
            if not admin.telegram_id or admin.telegram_blocked or not admin.digest_opt_in:
                continue
            await outbox.enqueue(
                session,
                m.NotifyUser(user_id=admin.id, event="digest", day=day),
                unique_key=f"notify.digest:{day}:{admin.id}",
                max_attempts=5,
            )


def _digest_key(settings: Settings, now: datetime) -> str | None:
    key = digest.morning_key(settings, now)
    if key is None:
        return None
    local = now.astimezone(settings.tz)
    start = local.replace(
        hour=settings.morning_at.hour, minute=settings.morning_at.minute, second=0, microsecond=0
    )
    return key if local - start <= DIGEST_LATE else None


periodic(
    Periodic(
        m.SendDigest(),
        key_at=_digest_key,
        enabled=lambda s: s.telegram_bot_token is not None,
    )
)
