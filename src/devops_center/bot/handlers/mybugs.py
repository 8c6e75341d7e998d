"""/mybugs: the reporter's bugs five per page, a bug's detail with its history, and
adding information to it (the next message is appended to the report)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import Menu, MyBugsCb
from devops_center.bot.presenters import bug_detail, bug_page
from devops_center.bot.ui import Button, Inline, InPrivate, Row, home_row, keyboard, show
from devops_center.config import Settings
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import gettext
from devops_center.support import service as support
from devops_center.users.models import User

router = Router(name="mybugs")

PAGE = 5


class AddInformation(StatesGroup):
    text = State()


async def show_page(
    target: Message | CallbackQuery,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
    offset: int,
) -> None:
    bugs, total = await support.my_bugs(session, user_id=user.id, offset=offset, limit=PAGE)
    if offset and offset >= total:  # a stale page: the last one that exists
        offset = max(0, (total - 1) // PAGE * PAGE)
        bugs, total = await support.my_bugs(session, user_id=user.id, offset=offset, limit=PAGE)
    if total == 0:
        text = gettext(lang, "You have not reported any bugs yet. Use /bug to report one.")
        await show(target, text, keyboard(home_row(lang)))
        return
    text = bug_page(bugs, offset, total, lang, settings)
    rows: list[Row] = [
        [(f"#{b.id} {b.title[:40]}", MyBugsCb(action="bug", bug=b.id, offset=offset))] for b in bugs
    ]
    turn: list[Button] = []
    if offset > 0:
        turn.append(("◀", MyBugsCb(action="page", offset=max(0, offset - PAGE))))
    if offset + PAGE < total:
        turn.append(("▶", MyBugsCb(action="page", offset=offset + PAGE)))
    await show(target, text, keyboard(*rows, turn, home_row(lang)))


async def show_bug(
    target: Message | CallbackQuery,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
    bug_id: int,
    offset: int,
) -> None:
    try:
        bug = await support.get_bug_for(session, bug_id=bug_id, viewer=user)
    except NotFound:
        await show(target, gettext(lang, "There is no bug #%(id)s among your reports.", id=bug_id))
        return
    history = await support.bug_history(session, bug_id=bug.id)
    rows: list[Row] = []
    if bug.user_id == user.id:
        add = MyBugsCb(action="add", bug=bug.id, offset=offset)
        rows.append([(gettext(lang, "➕ Add information"), add)])
    rows.append(
        [(gettext(lang, "◀ Back"), MyBugsCb(action="page", offset=offset)), *home_row(lang)]
    )
    await show(target, bug_detail(bug, history, lang, settings), keyboard(*rows))


@router.message(Command("mybugs"), InPrivate())
async def mybugs(
    message: Message, session: AsyncSession, user: User, lang: str, settings: Settings
) -> None:
    await show_page(message, session, user, lang, settings, 0)


@router.callback_query(Menu.filter(F.to == "mybugs"), InPrivate())
async def mybugs_menu(
    callback: CallbackQuery, session: AsyncSession, user: User, lang: str, settings: Settings
) -> None:
    await show_page(callback, session, user, lang, settings, 0)
    await callback.answer()


@router.callback_query(MyBugsCb.filter(F.action == "page"), InPrivate())
async def turn_page(
    callback: CallbackQuery,
    callback_data: MyBugsCb,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    await show_page(callback, session, user, lang, settings, callback_data.offset)
    await callback.answer()


@router.callback_query(MyBugsCb.filter(F.action == "bug"), InPrivate())
async def detail(
    callback: CallbackQuery,
    callback_data: MyBugsCb,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    await show_bug(callback, session, user, lang, settings, callback_data.bug, callback_data.offset)
    await callback.answer()


@router.callback_query(MyBugsCb.filter(F.action == "add"), InPrivate())
async def add_button(
    callback: CallbackQuery, callback_data: MyBugsCb, state: FSMContext, lang: str
) -> None:
    await state.set_state(AddInformation.text)
    await state.set_data({"bug": callback_data.bug, "offset": callback_data.offset})
    if isinstance(callback.message, Message):
        prompt = gettext(
            lang,
            "Send what you would like to add to bug #%(id)s (text, up to %(max)s characters), "
            "or /cancel.",
            id=callback_data.bug,
            max=support.ADDITION_MAX,
        )
        await callback.message.answer(prompt)
    await callback.answer()


@router.message(StateFilter(AddInformation.text), Inline(F.text), ~Inline(F.text.startswith("/")))
async def add_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    data = await state.get_data()
    bug_id = int(data.get("bug", 0))
    try:
        await support.add_information(
            session, bug_id=bug_id, reporter_id=user.id, text=message.text or "", source="telegram"
        )
    except (Invalid, NotFound) as exc:
        problems = [gettext(lang, m) for m in getattr(exc, "fields", {}).values()]
        await message.answer("⚠️ " + ("\n".join(problems) or gettext(lang, exc.message)))
        return
    await state.clear()
    await message.answer(gettext(lang, "Added to bug #%(id)s. Thank you!", id=bug_id))
    await show_bug(message, session, user, lang, settings, bug_id, int(data.get("offset", 0)))


@router.message(StateFilter(AddInformation.text), ~Inline(F.text.startswith("/")))
async def add_wrong_type(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, "Please answer with text."))
