"""/start, /help and the /support menu."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message

from devops_center.bot.common import RouterSpec, esc, keyboard
from devops_center.i18n import gettext
from devops_center.users import service as users
from devops_center.users.models import User

router = RouterSpec("start")


def support_menu(lang: str) -> list[list[tuple[str, str]]]:
    return [
        [(gettext(lang, "🐞 Report a bug"), "menu:bug")],
        [(gettext(lang, "❓ FAQ"), "menu:faq"), (gettext(lang, "📋 My bugs"), "menu:mybugs")],
        [(gettext(lang, "🌐 Open the web hub"), "menu:web")],
    ]


def help_text(lang: str, user: User | None) -> str:
    lines = [
        gettext(lang, "/bug — report a bug"),
        gettext(lang, "/faq — answers to common questions (/faq words searches)"),
        gettext(lang, "/mybugs — your reports and their status"),
        gettext(lang, "/web — a sign-in link for the web hub"),
        gettext(lang, "/language — Русский / English"),
        gettext(lang, "/cancel — leave the current dialog"),
    ]
    if users.is_admin(user):
        lines += [
            gettext(lang, "/morning — morning overview"),
            gettext(lang, "/devops — DORA metrics and deployments"),
            gettext(lang, "/digest — turn the daily morning digest on or off"),
        ]
    return "\n".join(lines)


@router.message(CommandStart())
async def start(message: Message, user: User | None, lang: str) -> None:
    if user is None:
        await message.answer(gettext(lang, "Please write to me in a private chat."))
        return
    text = gettext(lang, "Hello, %(name)s! I am the support bot.", name=esc(user.name))
    await message.answer(
        text + "\n\n" + help_text(lang, user), reply_markup=keyboard(support_menu(lang))
    )


@router.message(Command("help"))
async def help_(message: Message, user: User | None, lang: str) -> None:
    await message.answer(help_text(lang, user))


@router.message(Command("support"))
async def support(message: Message, lang: str) -> None:
    await message.answer(
        gettext(lang, "How can we help?"), reply_markup=keyboard(support_menu(lang))
    )


@router.callback_query(F.data == "menu:support")
async def support_cb(callback: CallbackQuery, lang: str) -> None:
    if isinstance(callback.message, Message):
        await callback.message.answer(
            gettext(lang, "How can we help?"), reply_markup=keyboard(support_menu(lang))
        )
    await callback.answer()
