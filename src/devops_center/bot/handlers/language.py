"""/language: Русский or English, stored on the user (the web uses it too)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import LanguageCb
from devops_center.bot.ui import InPrivate, keyboard, show
from devops_center.i18n import LANGUAGE_NAMES, SUPPORTED, gettext
from devops_center.users import service as users
from devops_center.users.models import User

router = Router(name="language")


@router.message(Command("language"))
async def language(message: Message, lang: str) -> None:
    row = [(LANGUAGE_NAMES[code], LanguageCb(code=code)) for code in SUPPORTED]
    await message.answer(gettext(lang, "Choose your language:"), reply_markup=keyboard(row))


@router.callback_query(LanguageCb.filter(), InPrivate())
async def chosen(
    callback: CallbackQuery, callback_data: LanguageCb, session: AsyncSession, user: User
) -> None:
    await users.set_language(session, user_id=user.id, language=callback_data.code)
    await show(callback, gettext(callback_data.code, "Language set: English."))
    await callback.answer()
