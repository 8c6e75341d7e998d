"""Links that open the bot at a given place: ``https://t.me/<bot>?start=<payload>``.

The bot's @username is ``DCC_TELEGRAM_BOT_USERNAME`` when set, else what the running bot
learnt from Telegram at its start (``getMe``) and left in the cache for the web.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import cache
from devops_center.config import Settings
from devops_center.i18n import gettext

USERNAME_KEY = "bot:username"
USERNAME_TTL = timedelta(days=30)  # refreshed at every start of the bot
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Telegram allows after ?start=


async def remember_username(session: AsyncSession, username: str) -> None:
    await cache.put(session, key=USERNAME_KEY, value=username, ttl=USERNAME_TTL)


async def bot_username(session: AsyncSession, settings: Settings) -> str | None:
    if not settings.telegram_bot_token:
        return None
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    value = await cache.get(session, key=USERNAME_KEY)
    return str(value) if value else None


async def deep_links(session: AsyncSession, settings: Settings, *payloads: str) -> dict[str, str]:
    """``{payload: link}`` for each payload (``bug``, ``faq``, ``bug_12``); empty when
    there is no bot or its name is not known yet."""
    name = await bot_username(session, settings)
    if not name:
        return {}
    return {p: f"https://t.me/{name}?start={p}" for p in payloads if PAYLOAD.match(p)}


MINI_APP_PATH = "/tg/app"


def mini_app_url(settings: Settings) -> str | None:
    """Where the bot's menu button and "Open support hub" button open the hub as a
    Telegram Mini App: ``DCC_BASE_URL`` + ``/tg/app``. None without a bot, or when the
    hub's address is not https (Telegram opens Mini Apps over https only)."""
    if not settings.telegram_bot_token or not settings.base_url.startswith("https://"):
        return None
    return settings.base_url.rstrip("/") + MINI_APP_PATH


def menu_button(settings: Settings, lang: str) -> dict[str, object]:
    """The chat menu button (``setChatMenuButton``): the Mini App when it can be opened,
    else Telegram's default (the list of commands)."""
    url = mini_app_url(settings)
    if url is None:
        return {"type": "default"}
    return {
        "type": "web_app",
        "text": gettext(lang, "Support hub"),
        "web_app": {"url": url},
    }


async def invite_link(
    session: AsyncSession, settings: Settings, *, channel: str, token: str
) -> str | None:
    """The link of an invitation: the hub's ``/invite/<token>`` page (to be sent by
    email), or the bot's ``/start inv_<token>`` deep link; None for a Telegram invite
    while the bot's name is unknown."""
    if channel == "email":
        return f"{settings.base_url.rstrip('/')}/invite/{token}"
    found = await deep_links(session, settings, f"inv_{token}")
    return found.get(f"inv_{token}")
