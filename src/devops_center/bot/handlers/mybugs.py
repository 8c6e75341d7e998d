"""/mybugs: the reporter's bugs five per page, a bug's detail with its history and
conversation, adding information to it (the next message is the reporter's comment, as
on the web: mirrored to the GitHub issue, the team told; a photo is fetched by the worker
and added with its caption) and closing it (asked first)."""

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
from devops_center.errors import Invalid, NotFound, RateLimited
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
    comments = await support.list_comments(
        session, bug_id=bug.id, viewer_id=user.id, team=support.is_team(user)
    )
    rows: list[Row] = []
    if bug.user_id == user.id:
        add = MyBugsCb(action="add", bug=bug.id, offset=offset)
        rows.append([(gettext(lang, "➕ Add information"), add)])
        if bug.status not in ("resolved", "closed"):
            close = MyBugsCb(action="close", bug=bug.id, offset=offset)
            rows.append([(gettext(lang, "✔ Close my bug"), close)])
    rows.append(
        [(gettext(lang, "◀ Back"), MyBugsCb(action="page", offset=offset)), *home_row(lang)]
    )
    await show(target, bug_detail(bug, history, lang, settings, comments), keyboard(*rows))


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
    callback: CallbackQuery,
    callback_data: MyBugsCb,
    state: FSMContext,
    lang: str,
    settings: Settings,
) -> None:
    await state.set_state(AddInformation.text)
    await state.set_data({"bug": callback_data.bug, "offset": callback_data.offset})
    if isinstance(callback.message, Message):
        prompt = gettext(
            lang,
            "Send what you would like to add to bug #%(id)s: text (up to %(max)s characters) "
            "or a photo (up to %(mb)s MB) with a caption; or /cancel. The team sees it in the "
            "bug's conversation.",
            id=callback_data.bug,
            max=support.COMMENT_MAX,
            mb=f"{settings.max_upload_mb:g}",
        )
        await callback.message.answer(prompt)
    await callback.answer()


async def add_comment(
    session: AsyncSession, settings: Settings, user: User, bug_id: int, text: str, lang: str
) -> str | None:
    """The reporter's comment on their bug, as the web adds it; the refusal to show, or
    None when it is stored."""
    if len(text.strip()) > support.COMMENT_MAX:
        return "⚠️ " + gettext(
            lang,
            "This answer may have at most %(max)s characters (now %(n)s).",
            max=support.COMMENT_MAX,
            n=len(text.strip()),
        )
    try:
        await support.add_comment(
            session,
            settings=settings,
            bug_id=bug_id,
            author_id=user.id,
            team=support.is_team(user),
            data=support.CommentInput(body=text),
            source="telegram",
        )
    except Invalid as exc:
        problems = [gettext(lang, m, **exc.params) for m in exc.fields.values()]
        return "⚠️ " + ("\n".join(problems) or gettext(lang, exc.message, **exc.params))
    except RateLimited as exc:
        return "⚠️ " + gettext(lang, exc.message, **exc.params)
    except NotFound:
        return "⚠️ " + gettext(lang, "There is no bug #%(id)s among your reports.", id=bug_id)
    return None


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
    refused = await add_comment(session, settings, user, bug_id, message.text or "", lang)
    if refused is not None:
        await message.answer(refused)
        return
    await state.clear()
    await message.answer(gettext(lang, "Added to bug #%(id)s. Thank you!", id=bug_id))
    await show_bug(message, session, user, lang, settings, bug_id, int(data.get("offset", 0)))


async def add_image(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
    *,
    file_id: str,
    size: int | None,
) -> None:
    """A photo (or an image file) to add: queued for the worker, which fetches it from
    Telegram and adds it with its caption as the user's comment."""
    data = await state.get_data()
    bug_id = int(data.get("bug", 0))
    if size is not None and size > settings.max_upload_bytes:
        mb = f"{settings.max_upload_mb:g}"
        await message.answer("⚠️ " + gettext(lang, "This photo is larger than %(mb)s MB.", mb=mb))
        return
    try:
        await support.add_photo_later(
            session,
            bug_id=bug_id,
            author=user,
            file_id=file_id,
            caption=message.caption or "",
            client_token=f"tg:{message.chat.id}:{message.message_id}",
        )
    except Invalid:
        text = gettext(
            lang,
            "This answer may have at most %(max)s characters (now %(n)s).",
            max=support.COMMENT_MAX,
            n=len((message.caption or "").strip()),
        )
        await message.answer("⚠️ " + text)
        return
    except NotFound:
        text = gettext(lang, "There is no bug #%(id)s among your reports.", id=bug_id)
        await message.answer("⚠️ " + text)
        return
    await state.clear()
    thanks = gettext(
        lang,
        "Thank you! The photo is being added to bug #%(id)s: it appears in the conversation "
        "in a moment.",
        id=bug_id,
    )
    await message.answer(thanks)
    await show_bug(message, session, user, lang, settings, bug_id, int(data.get("offset", 0)))


@router.message(StateFilter(AddInformation.text), Inline(F.photo))
async def add_photo(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    best = max(message.photo or [], key=lambda p: p.width * p.height)
    await add_image(
        message, state, session, user, lang, settings, file_id=best.file_id, size=best.file_size
    )


@router.message(
    StateFilter(AddInformation.text),
    Inline(F.document.mime_type.startswith("image/")),
)
async def add_image_file(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    doc = message.document
    assert doc is not None
    await add_image(
        message, state, session, user, lang, settings, file_id=doc.file_id, size=doc.file_size
    )


@router.message(StateFilter(AddInformation.text), ~Inline(F.text.startswith("/")))
async def add_wrong_type(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, "Please send text or a photo."))


@router.callback_query(MyBugsCb.filter(F.action == "close"), InPrivate())
async def close_button(callback: CallbackQuery, callback_data: MyBugsCb, lang: str) -> None:
    """Asked first: a closed bug is the team's no more."""
    bug_id, offset = callback_data.bug, callback_data.offset
    text = gettext(
        lang,
        "Close bug #%(id)s? Do it when it is solved or no longer needed: the team stops "
        "working on it.",
        id=bug_id,
    )
    yes = (gettext(lang, "✔ Yes, close it"), MyBugsCb(action="closed", bug=bug_id, offset=offset))
    back = (gettext(lang, "◀ Back"), MyBugsCb(action="bug", bug=bug_id, offset=offset))
    await show(callback, text, keyboard([yes], [back]))
    await callback.answer()


@router.callback_query(MyBugsCb.filter(F.action == "closed"), InPrivate())
async def close_confirmed(
    callback: CallbackQuery,
    callback_data: MyBugsCb,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    bug_id = callback_data.bug
    try:
        await support.close_own_bug(session, bug_id=bug_id, reporter_id=user.id, source="telegram")
    except NotFound:
        notice = gettext(lang, "There is no bug #%(id)s among your reports.", id=bug_id)
    else:
        notice = gettext(lang, "Bug #%(id)s is closed.", id=bug_id)
    await show_bug(callback, session, user, lang, settings, bug_id, callback_data.offset)
    await callback.answer(notice)
