"""Anything no other router took, in a private chat: a short hint instead of silence."""

from __future__ import annotations

from aiogram import F
from aiogram.types import CallbackQuery, Message

from devops_center.bot.common import RouterSpec
from devops_center.i18n import gettext

router = RouterSpec("fallback")


@router.message(F.chat.type == "private")
async def unknown(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, "I did not understand that. Send /help for the commands."))


@router.callback_query()
async def stale_button(callback: CallbackQuery, lang: str) -> None:
    await callback.answer(gettext(lang, "This button is no longer active."))
