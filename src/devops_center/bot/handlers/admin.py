"""/morning, /devops and /digest for owners and superadmins; everyone else is refused.

The texts are the digest presenter's (the same as the daily digest and the web).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.ui import IsAdmin
from devops_center.config import Settings
from devops_center.digest import service as digest
from devops_center.i18n import gettext
from devops_center.users.models import User

router = Router(name="admin")

ADMIN_COMMANDS = ("morning", "devops", "digest")


@router.message(Command("morning"), IsAdmin())
async def morning(message: Message, session: AsyncSession, lang: str, settings: Settings) -> None:
    await message.answer(await digest.morning_text(session, settings=settings, lang=lang))


@router.message(Command("devops"), IsAdmin())
async def devops(message: Message, session: AsyncSession, lang: str, settings: Settings) -> None:
    await message.answer(await digest.devops_text(session, settings=settings, lang=lang))


@router.message(Command("digest"), IsAdmin())
async def toggle_digest(message: Message, user: User, lang: str, settings: Settings) -> None:
    user.digest_opt_in = not user.digest_opt_in
    if user.digest_opt_in:
        at = settings.morning_at.strftime("%H:%M")
        text = gettext(
            lang,
            "The morning digest is on: every day at %(at)s (%(tz)s).",
            at=at,
            tz=settings.timezone,
        )
    else:
        text = gettext(lang, "The morning digest is off. Send /digest to turn it on again.")
    await message.answer(text)


@router.message(Command(*ADMIN_COMMANDS))
async def refuse(message: Message, lang: str) -> None:
    await message.answer(
        gettext(lang, "Sorry, this command is only for the team's owners and administrators.")
    )
