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
