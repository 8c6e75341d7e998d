"""/start (with deep links), /help, /support and the menu's Home button."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import Menu
from devops_center.bot.handlers import bug, faq, mybugs
from devops_center.bot.ui import InPrivate, esc, keyboard, show
from devops_center.config import Settings
from devops_center.i18n import gettext
from devops_center.users import service as users
from devops_center.users.models import User

router = Router(name="start")


def menu(lang: str) -> list[list[tuple[str, Menu]]]:
    return [
        [(gettext(lang, "🐞 Report a bug"), Menu(to="bug"))],
        [
            (gettext(lang, "❓ FAQ"), Menu(to="faq")),
            (gettext(lang, "📋 My bugs"), Menu(to="mybugs")),
        ],
        [(gettext(lang, "🌐 Open the web hub"), Menu(to="web"))],
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


@router.message(CommandStart(), ~InPrivate())
async def not_private(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, "Please write to me in a private chat."))


@router.message(CommandStart(deep_link=True))
async def deep_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    """``/start bug`` opens /bug, ``/start faq`` the FAQ, ``/start bug_12`` bug #12."""
    payload = (command.args or "").strip().lower()
    if payload == "bug":
        await bug.begin(message, state, session, user, lang, settings)
    elif payload == "faq":
        await faq.show_topics(message, session, lang)
    elif payload.startswith("bug_") and payload[4:].isdigit() and len(payload) < 14:
        await mybugs.show_bug(message, session, user, lang, settings, int(payload[4:]), 0)
    else:
        await start(message, user, lang)


@router.message(CommandStart())
async def start(message: Message, user: User, lang: str) -> None:
    text = gettext(lang, "Hello, %(name)s! I am the support bot.", name=esc(user.name))
    await message.answer(text + "\n\n" + help_text(lang, user), reply_markup=keyboard(*menu(lang)))


@router.message(Command("help"))
async def help_(message: Message, user: User | None, lang: str) -> None:
    await message.answer(help_text(lang, user))


@router.message(Command("support"))
async def support(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, "How can we help?"), reply_markup=keyboard(*menu(lang)))


@router.callback_query(Menu.filter(F.to == "home"))
async def home(callback: CallbackQuery, lang: str) -> None:
    await show(callback, gettext(lang, "How can we help?"), keyboard(*menu(lang)))
    await callback.answer()
