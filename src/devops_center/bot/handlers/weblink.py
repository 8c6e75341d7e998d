"""/web: a single-use sign-in link to the web hub, valid for 10 minutes."""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import Menu
from devops_center.bot.ui import InPrivate, esc
from devops_center.config import Settings
from devops_center.i18n import gettext
from devops_center.users import signin
from devops_center.users.models import User

router = Router(name="weblink")

LINK_TTL = timedelta(minutes=10)


async def send_link(
    message: Message, session: AsyncSession, user: User, lang: str, settings: Settings
) -> None:
    token = await signin.create_login_link(session, user_id=user.id, ttl=LINK_TTL)
    url = f"{settings.base_url}/auth/link/{token}"
    # The link goes in the text, not a URL button: Telegram refuses buttons that point
    # to a private address (an intranet or 127.0.0.1 hub), and the message would be lost.
    text = gettext(
        lang,
        "Your personal sign-in link for the web hub. It works once and "
        "expires in 10 minutes; do not share it.",
    )
    await message.answer(f"{text}\n\n{esc(url)}")


@router.message(Command("web"), InPrivate())
async def web(
    message: Message, session: AsyncSession, user: User, lang: str, settings: Settings
) -> None:
    await send_link(message, session, user, lang, settings)


@router.callback_query(Menu.filter(F.to == "web"), InPrivate())
async def web_menu(
    callback: CallbackQuery, session: AsyncSession, user: User, lang: str, settings: Settings
) -> None:
    if isinstance(callback.message, Message):
        await send_link(callback.message, session, user, lang, settings)
    await callback.answer()
