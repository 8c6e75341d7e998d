"""Outer middleware: a database session, our User and a language per update.

The update's work is committed at the end and before every Bot API call its handler
makes (:class:`CommitBeforeSending`, a request middleware of the bot's session): a reply
never announces what is not stored yet ("bug #12" for a bug that then rolls back), and
no transaction, pooled connection or SQLite turn is held while Telegram answers — with a
real network round trip the SQLite turn held across replies made every update of the
process wait for every other's replies (``bench/bot.py --api-ms 50``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.bot.storage import CURRENT, UpdateBuffer
from devops_center.config import Settings
from devops_center.db import db_error_kind, statement_sessionmaker
from devops_center.i18n import gettext, pick_language
from devops_center.users import service as users
from devops_center.users import team
from devops_center.users.models import User

log = logging.getLogger("devops_center.bot")


def _chat_type(update: Update) -> str | None:
    if update.message is not None:
        return update.message.chat.type
    if update.callback_query is not None and isinstance(update.callback_query.message, Message):
        return update.callback_query.message.chat.type
    return None


async def ensure_user(
    session: AsyncSession,
    settings: Settings,
    tg: TgUser,
    *,
    private: bool,
    reader: async_sessionmaker[AsyncSession] | None = None,
) -> User | None:
    """Find our user by Telegram id; in a private chat create it (superadmins by config).

    With a ``reader`` (autocommit) the lookup is one round trip outside the update's
    transaction, and the user joins the update's session without another query.
    """
    if reader is None:
        user = await users.get_by_telegram_id(session, telegram_id=tg.id)
    else:
        async with reader() as lookup:
            user = await users.get_by_telegram_id(lookup, telegram_id=tg.id)
        if user is not None:
            user = await session.merge(user, load=False)
    superadmin = tg.id in settings.superadmin_ids
    if user is None:
        if not private or tg.is_bot:
            return None
        name = " ".join(p for p in (tg.first_name, tg.last_name) if p) or f"tg{tg.id}"
        user = await team.register_telegram_user(
            session,
            telegram_id=tg.id,
            name=name,
            username=tg.username,
            language_code=tg.language_code,
            superadmin=superadmin,
        )
        return user
    if superadmin and user.role != "superadmin":
        await users.set_role(session, user_id=user.id, role="superadmin", actor_id=None)
    if user.telegram_blocked and private:
        user.telegram_blocked = False  # they talk to us again: notifications resume
    return user


class RetryLater(Exception):
    """The update could not be handled because the database is unavailable, before any
    reply was sent: handle it again later (raised only when the caller allows it)."""


class SessionMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._sqlite_turn = asyncio.Lock()
        # Most updates only read the user (on Redis a dialog step writes nothing to the
        # database): read it outside a transaction, so that such an update costs one
        # PostgreSQL round trip instead of three (BEGIN, SELECT, COMMIT; bench/bot.py).
        # SQLite keeps one session: the dialog state is in it anyway.
        self.reader: async_sessionmaker[AsyncSession] | None = (
            None if settings.is_sqlite else statement_sessionmaker(sessionmaker)
        )

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg: TgUser | None = data.get("event_from_user")
        lang = pick_language(
            tg.language_code if tg else None, default=self.settings.default_language
        )
        # SQLite has one writer at a time and a deferred transaction that writes late can
        # wait on another that waits on it: the updates of this process take turns (FIFO)
        # for their database work, and give the turn away while Telegram answers.
        turn = self._sqlite_turn if self.settings.is_sqlite else None
        buffer: UpdateBuffer | None = None
        try:
            async with self.sessionmaker() as session:
                buffer = UpdateBuffer(session, turn=turn)
                token = CURRENT.set(buffer)
                try:
                    await buffer.take_turn()
                    try:
                        user = None
                        if tg is not None and isinstance(event, Update):
                            private = _chat_type(event) == "private"
                            user = await ensure_user(
                                session, self.settings, tg, private=private, reader=self.reader
                            )
                        if user is not None and user.language:
                            lang = user.language
                        data.update(session=session, user=user, lang=lang, settings=self.settings)
                        result = await handler(event, data)
                        await buffer.commit()
                    except BaseException:
                        await session.rollback()
                        raise
                    return result
                finally:
                    CURRENT.reset(token)
                    buffer.give_turn()
        except Exception as exc:
            if (
                db_error_kind(exc) == "unavailable"
                and data.get("may_retry", False)
                and not (buffer is not None and buffer.sent)
            ):
                # Nothing reached the user and nothing was stored: the runner handles the
                # update again once the database answers, instead of an apology.
                log.warning("database unavailable (%s); the update will be retried", exc)
                raise RetryLater from exc
            log.exception("handling update failed")
            await self._apologise(event, data, lang)
            return None

    async def _apologise(self, event: TelegramObject, data: dict[str, Any], lang: str) -> None:
        bot: Bot | None = data.get("bot")
        if bot is None or not isinstance(event, Update):
            return
        chat = data.get("event_chat")
        text = gettext(lang, "Sorry, something went wrong. Please try again in a moment.")
        try:
            if isinstance(event.callback_query, CallbackQuery):
                await bot.answer_callback_query(event.callback_query.id, text=text[:200])
            elif chat is not None and chat.type == "private":
                await bot.send_message(chat.id, text)
        except Exception:
            log.warning("could not tell the user about the failure", exc_info=True)


class CommitBeforeSending(BaseRequestMiddleware):
    """Before a Bot API call made while an update is handled: commit, give up the turn."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        buffer = CURRENT.get()
        if buffer is None:  # the worker's notifications, start-up calls
            return await make_request(bot, method)
        await buffer.commit()
        buffer.give_turn()
        buffer.sent = True
        try:
            return await make_request(bot, method)
        finally:
            await buffer.take_turn()
