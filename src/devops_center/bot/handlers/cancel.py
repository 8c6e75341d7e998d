"""/cancel: leaves any dialog at any step (included first, so it wins over dialog steps)."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from devops_center.bot.common import RouterSpec
from devops_center.i18n import gettext

router = RouterSpec("cancel")


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, lang: str) -> None:
    if await state.get_state() is None:
        await message.answer(gettext(lang, "There is nothing to cancel."))
        return
    await state.clear()
    await message.answer(gettext(lang, "Cancelled. Nothing was sent."))
