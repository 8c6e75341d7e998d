"""/start (with deep links), /help, /support and the menu's Home button."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, WebAppInfo
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import Menu
from devops_center.bot.handlers import bug, faq, mybugs
from devops_center.bot.ui import Button, InPrivate, esc, keyboard, show
from devops_center.config import Settings
from devops_center.errors import Conflict, Forbidden, Invalid
from devops_center.i18n import gettext
from devops_center.notify import links
from devops_center.users import service as users
from devops_center.users import team
from devops_center.users.models import User
from devops_center.users.team import ROLE_NAMES

router = Router(name="start")


def menu(lang: str, settings: Settings) -> list[list[Button]]:
    """The main menu; with the hub reachable over https, "Open support hub" first (the
    hub as a Telegram Mini App, signed in already)."""
    app_url = links.mini_app_url(settings)
    hub: list[list[Button]] = (
        [[(gettext(lang, "📱 Open support hub"), WebAppInfo(url=app_url))]] if app_url else []
    )
    return [
        *hub,
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
    raw = (command.args or "").strip()
    payload = raw.lower()
    if payload == "bug":
        await bug.begin(message, state, session, user, lang, settings)
    elif payload == "faq":
        await faq.show_topics(message, session, lang)
    elif payload.startswith("bug_") and payload[4:].isdigit() and len(payload) < 14:
        await mybugs.show_bug(message, session, user, lang, settings, int(payload[4:]), 0)
    elif payload.startswith(team.INVITE_PAYLOAD):
        await accept_invite(message, session, user, lang, settings, raw[len(team.INVITE_PAYLOAD) :])
    else:
        await start(message, user, lang, settings)


async def accept_invite(
    message: Message,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
    token: str,
) -> None:
    """``/start inv_<token>``: an invitation from the web's users page."""
    tg = message.from_user
    if tg is None:
        return
    try:
        user = await team.accept_telegram_invite(
            session,
            token=token,
            telegram_id=tg.id,
            name=tg.full_name,
            username=tg.username,
            language_code=tg.language_code,
        )
    except (Forbidden, Invalid, Conflict) as exc:
        await message.answer(gettext(lang, exc.message, **exc.params))
        return
    role = gettext(lang, ROLE_NAMES[user.role])
    text = gettext(lang, "Welcome to the team! Your role: %(role)s.", role=esc(role))
    await message.answer(
        text + "\n\n" + help_text(lang, user), reply_markup=keyboard(*menu(lang, settings))
    )


@router.message(CommandStart())
async def start(message: Message, user: User, lang: str, settings: Settings) -> None:
    text = gettext(lang, "Hello, %(name)s! I am the support bot.", name=esc(user.name))
    await message.answer(
        text + "\n\n" + help_text(lang, user), reply_markup=keyboard(*menu(lang, settings))
    )


@router.message(Command("help"))
async def help_(message: Message, user: User | None, lang: str) -> None:
    await message.answer(help_text(lang, user))


@router.message(Command("support"))
async def support(message: Message, lang: str, settings: Settings) -> None:
    await message.answer(
        gettext(lang, "How can we help?"), reply_markup=keyboard(*menu(lang, settings))
    )


@router.callback_query(Menu.filter(F.to == "home"))
async def home(callback: CallbackQuery, lang: str, settings: Settings) -> None:
    await show(callback, gettext(lang, "How can we help?"), keyboard(*menu(lang, settings)))
    await callback.answer()
