"""/cancel leaves any dialog (registered first, so it wins over every dialog step)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from devops_center.i18n import gettext

router = Router(name="cancel")


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, raw_state: str | None, lang: str) -> None:
    if raw_state is None:
        await message.answer(gettext(lang, "There is nothing to cancel."))
        return
    await state.clear()
    await message.answer(gettext(lang, "Cancelled. Nothing was sent."))
