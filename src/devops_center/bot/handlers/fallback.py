"""What no other router took: a hint in a private chat, a notice for a stale button."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from devops_center.bot.ui import InPrivate
from devops_center.i18n import gettext

router = Router(name="fallback")


@router.message(InPrivate())
async def unknown(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, "I did not understand that. Send /help for the commands."))


@router.callback_query()
async def stale_button(callback: CallbackQuery, lang: str) -> None:
    """A button of an old message, of a finished dialog, or a payload that does not
    parse (no ``CallbackData`` filter matched it)."""
    await callback.answer(gettext(lang, "This button is no longer active."))
