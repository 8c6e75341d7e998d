"""Outer middleware: one database transaction, our User and a language per update."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.bot.storage import CURRENT, UpdateBuffer
from devops_center.config import Settings
from devops_center.i18n import gettext, pick_language
from devops_center.users import service as users
from devops_center.users.models import User

log = logging.getLogger("devops_center.bot")


def _chat_type(update: Update) -> str | None:
    if update.message is not None:
        return update.message.chat.type
    if update.callback_query is not None and isinstance(update.callback_query.message, Message):
        return update.callback_query.message.chat.type
    return None


async def ensure_user(
    session: AsyncSession, settings: Settings, tg: TgUser, *, private: bool
) -> User | None:
    """Find our user by Telegram id; in a private chat create it (superadmins by config)."""
    user = await users.get_by_telegram_id(session, telegram_id=tg.id)
    superadmin = tg.id in settings.superadmin_ids
    if user is None:
        if not private or tg.is_bot:
            return None
        name = " ".join(p for p in (tg.first_name, tg.last_name) if p) or f"tg{tg.id}"
        code = (tg.language_code or "").replace("_", "-").split("-")[0].lower()
        user = await users.create_user(
            session,
            name=name[:200],
            role="superadmin" if superadmin else "employee",
            telegram_id=tg.id,
            telegram_username=tg.username,
            language=code if code in ("ru", "en") else None,
        )
        log.info("registered Telegram user %s as user %s (%s)", tg.id, user.id, user.role)
        return user
    if superadmin and user.role != "superadmin":
        await users.set_role(session, user_id=user.id, role="superadmin", actor_id=None)
    if user.telegram_blocked and private:
        user.telegram_blocked = False  # they talk to us again: notifications resume
    return user


class SessionMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._sqlite_turn = asyncio.Lock()

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
        # wait on another that waits on it: the updates of this process take turns (FIFO).
        turn = self._sqlite_turn if self.settings.is_sqlite else contextlib.nullcontext()
        try:
            async with turn, self.sessionmaker() as session:
                buffer = UpdateBuffer(session)
                token = CURRENT.set(buffer)
                try:
                    try:
                        user = None
                        if tg is not None and isinstance(event, Update):
                            private = _chat_type(event) == "private"
                            user = await ensure_user(session, self.settings, tg, private=private)
                        if user is not None and user.language:
                            lang = user.language
                        data.update(session=session, user=user, lang=lang, settings=self.settings)
                        result = await handler(event, data)
                        await self._commit(session, buffer)
                    except BaseException:
                        await session.rollback()
                        raise
                    await buffer.flush_after_commit()
                    return result
                finally:
                    CURRENT.reset(token)
        except Exception:
            log.exception("handling update failed")
            await self._apologise(event, data, lang)
            return None

    async def _commit(self, session: AsyncSession, buffer: UpdateBuffer) -> None:
        await buffer.flush()
        await session.commit()

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
