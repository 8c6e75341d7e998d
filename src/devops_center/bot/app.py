"""Building the aiogram Bot and Dispatcher from settings (never at import time)."""

from __future__ import annotations

from typing import Any, ClassVar

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    LinkPreviewOptions,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.bot.handlers import routers
from devops_center.bot.middlewares.limits import TelegramLimits
from devops_center.bot.middlewares.session import CommitBeforeSending, SessionMiddleware
from devops_center.bot.storage import build_storage, cached
from devops_center.config import Settings
from devops_center.i18n import SUPPORTED
from devops_center.notify.commands import commands as command_list
from devops_center.notify.links import menu_button


class BotSession(AiohttpSession):
    """aiogram's aiohttp session, keeping the parsed response models alive.

    aiogram validates every answer with ``Response[method.__returning__]``; pydantic keeps
    such parametrized models only in a weak cache, so after a garbage collection the next
    request builds the model again (about 6 ms of CPU each time, measured by
    ``bench/bot.py --profile``). Holding them here makes that a dictionary lookup.
    """

    _models: ClassVar[dict[Any, Any]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._models:
            self._models[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)


def build_bot(settings: Settings) -> Bot:
    """A Bot whose every request goes to ``TELEGRAM_API_URL`` (Telegram or a local server)."""
    assert settings.telegram_bot_token is not None
    session = BotSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(CommitBeforeSending())
    session.middleware(TelegramLimits())
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(
            parse_mode="HTML", link_preview=LinkPreviewOptions(is_disabled=True)
        ),
    )


def build_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    dp = Dispatcher(storage=cached(storage or build_storage(settings, sessionmaker)))
    dp.update.outer_middleware(SessionMiddleware(settings, sessionmaker))
    dp.include_routers(*routers())
    return dp


def commands(lang: str, *, admin: bool = False) -> list[BotCommand]:
    return [
        BotCommand(command=c["command"], description=c["description"])
        for c in command_list(lang, admin=admin)
    ]


async def set_commands(bot: Bot, admins: list[tuple[int, str]]) -> None:
    """Everyone's commands in English (default) and Russian; each admin's chat gets
    /morning, /devops and /digest too, in the admin's language."""
    for lang in SUPPORTED:
        code = None if lang == "en" else lang
        await bot.set_my_commands(commands(lang), language_code=code)
    for chat_id, lang in admins:
        await bot.set_my_commands(
            commands(lang, admin=True), scope=BotCommandScopeChat(chat_id=chat_id)
        )


async def set_menu_button(bot: Bot, settings: Settings) -> None:
    """Everyone's menu button: the hub as a Mini App (in the default language; a user's
    own chat gets theirs from the ``notify.chat_commands`` job), or Telegram's default
    when the hub is not on https."""
    button = menu_button(settings, settings.default_language)
    web_app = button.get("web_app")
    if isinstance(web_app, dict):
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(
                text=str(button["text"]), web_app=WebAppInfo(url=str(web_app["url"]))
            )
        )
    else:
        await bot.set_chat_menu_button(menu_button=MenuButtonDefault())
