"""/language: Русский or English, stored on the user (the web uses it too)."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.common import RouterSpec, keyboard
from devops_center.i18n import LANGUAGE_NAMES, SUPPORTED, gettext
from devops_center.users import service as users
from devops_center.users.models import User

router = RouterSpec("language")


@router.message(Command("language"))
async def language(message: Message, lang: str) -> None:
    rows = [[(LANGUAGE_NAMES[code], f"lang:{code}") for code in SUPPORTED]]
    await message.answer(gettext(lang, "Choose your language:"), reply_markup=keyboard(rows))


@router.callback_query(F.data.startswith("lang:"))
async def chosen(callback: CallbackQuery, session: AsyncSession, user: User | None) -> None:
    code = (callback.data or "").split(":", 1)[1]
    if user is None or code not in SUPPORTED:
        await callback.answer()
        return
    await users.set_language(session, user_id=user.id, language=code)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(gettext(code, "Language set: English."))
