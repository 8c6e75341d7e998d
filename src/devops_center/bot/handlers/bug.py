"""/bug: title → doing → expected → actual → screenshot → priority → Submit / Edit / Cancel.

Each step validates its input with the web's limits and repeats itself with a clear
message; /cancel leaves at any step. Submit calls ``support.file_bug`` (same service,
same outbox job as the web) with an idempotency token made of the dialog's nonce, so a
double tap files one bug. A photo is fetched later by the worker (``telegram.fetch_photo``).
"""

from __future__ import annotations

import secrets
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.common import RouterSpec, esc, keyboard, priority_label
from devops_center.config import Settings
from devops_center.errors import Invalid, RateLimited
from devops_center.i18n import gettext, lazy
from devops_center.support import service as support
from devops_center.support.models import PRIORITIES
from devops_center.users.models import User

router = RouterSpec("bug")


class BugDialog(StatesGroup):
    title = State()
    what_doing = State()
    expected = State()
    actual = State()
    screenshot = State()
    priority = State()
    confirm = State()


TEXT_STEPS = ("title", "what_doing", "expected", "actual")
PROMPTS = {
    "title": lazy("Step 1 of 6. Give the problem a short title (3 to 200 characters)."),
    "what_doing": lazy("Step 2 of 6. What were you doing when it happened?"),
    "expected": lazy("Step 3 of 6. What did you expect to happen?"),
    "actual": lazy("Step 4 of 6. What happened instead?"),
    "screenshot": lazy("Step 5 of 6. Send a screenshot as a photo (up to 5 MB), or press Skip."),
    "priority": lazy("Step 6 of 6. How urgent is it?"),
}
FIELD_NAMES = {
    "title": lazy("Title"),
    "what_doing": lazy("What I was doing"),
    "expected": lazy("What I expected"),
    "actual": lazy("What happened"),
    "screenshot": lazy("Screenshot"),
    "priority": lazy("Priority"),
}


def _cancel_row(lang: str, nonce: str) -> list[tuple[str, str]]:
    return [(gettext(lang, "✖ Cancel"), f"bug:cancel:{nonce}")]


def _step_markup(step: str, lang: str, nonce: str) -> InlineKeyboardMarkup:
    rows: list[list[tuple[str, str]]] = []
    if step == "screenshot":
        rows.append([(gettext(lang, "Skip"), f"bug:skip:{nonce}")])
    if step == "priority":
        rows.append(
            [(priority_label(p, lang), f"bug:p:{p}:{nonce}") for p in PRIORITIES[:2]],
        )
        rows.append(
            [(priority_label(p, lang), f"bug:p:{p}:{nonce}") for p in PRIORITIES[2:]],
        )
    rows.append(_cancel_row(lang, nonce))
    return keyboard(rows)


async def _ask(message: Message, state: FSMContext, step: str, lang: str, error: str = "") -> None:
    data = await state.get_data()
    text = gettext(lang, PROMPTS[step])
    if error:
        text = f"⚠️ {error}\n\n{text}"
    await state.set_state(getattr(BugDialog, step))  # stored with the prompt (one commit)
    await message.answer(text, reply_markup=_step_markup(step, lang, str(data.get("nonce", ""))))


def summary(data: dict[str, Any], lang: str) -> str:
    shot = gettext(lang, "attached") if data.get("photo") else gettext(lang, "none")
    values = {
        "title": esc(data.get("title", "")),
        "what_doing": esc(data.get("what_doing", "")),
        "expected": esc(data.get("expected", "")),
        "actual": esc(data.get("actual", "")),
        "screenshot": shot,
        "priority": priority_label(str(data.get("priority", "medium")), lang),
    }
    lines = [gettext(lang, "Please check your report:"), ""]
    for name, value in values.items():
        lines.append(f"<b>{esc(gettext(lang, FIELD_NAMES[name]))}:</b> {value}")
    text = "\n".join(lines)
    return text if len(text) <= 4000 else text[:3990] + "…"


async def _confirm(message: Message, state: FSMContext, lang: str) -> None:
    data = await state.get_data()
    nonce = str(data.get("nonce", ""))
    markup = keyboard(
        [
            [(gettext(lang, "✅ Submit"), f"bug:submit:{nonce}")],
            [(gettext(lang, "✏️ Edit"), f"bug:edit:{nonce}"), *_cancel_row(lang, nonce)],
        ]
    )
    await state.update_data(editing=False)
    await state.set_state(BugDialog.confirm)
    await message.answer(summary(data, lang), reply_markup=markup)


async def _next(message: Message, state: FSMContext, step: str, lang: str) -> None:
    """After a valid answer to ``step``: the next step, or the summary when editing."""
    data = await state.get_data()
    if data.get("editing"):
        await _confirm(message, state, lang)
        return
    order = [*TEXT_STEPS, "screenshot", "priority"]
    await _ask(message, state, order[order.index(step) + 1], lang)


def _validate(step: str, value: str) -> str | None:
    """The msgid of the problem with ``value`` for ``step``, or None."""
    if step == "title":
        if len(value) < support.TITLE_MIN:
            return lazy("The title needs at least 3 characters")
        if len(value) > support.TITLE_MAX:
            return lazy("The title may have at most 200 characters")
        return None
    if not value:
        return lazy("This field is required")
    if len(value) > support.TEXT_MAX:
        return lazy("At most 10,000 characters")
    return None


# ----------------------------------------------------------------------- entering


async def begin(message: Message, state: FSMContext, user: User | None, lang: str) -> None:
    if user is None:
        await message.answer(gettext(lang, "Please write to me in a private chat."))
        return
    await state.clear()
    await state.set_data({"nonce": secrets.token_hex(6), "priority": "medium"})
    await _ask(message, state, "title", lang)


@router.message(Command("bug"))
async def bug_command(message: Message, state: FSMContext, user: User | None, lang: str) -> None:
    await begin(message, state, user, lang)


@router.callback_query(F.data == "menu:bug")
async def bug_menu(
    callback: CallbackQuery, state: FSMContext, user: User | None, lang: str
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await begin(callback.message, state, user, lang)


# -------------------------------------------------------------------- text steps


@router.message(
    StateFilter(BugDialog.title, BugDialog.what_doing, BugDialog.expected, BugDialog.actual),
    F.text,
    ~F.text.startswith("/"),
)
async def text_step(message: Message, state: FSMContext, lang: str) -> None:
    current = await state.get_state() or ""
    step = current.split(":")[-1]
    value = (message.text or "").strip()
    problem = _validate(step, value)
    if problem:
        await _ask(message, state, step, lang, gettext(lang, problem))
        return
    await state.update_data({step: value})
    await _next(message, state, step, lang)


@router.message(
    StateFilter(BugDialog.title, BugDialog.what_doing, BugDialog.expected, BugDialog.actual),
    ~F.text,
)
async def text_step_wrong_type(message: Message, state: FSMContext, lang: str) -> None:
    step = (await state.get_state() or "").split(":")[-1]
    await _ask(message, state, step, lang, gettext(lang, "Please answer with text."))


# -------------------------------------------------------------------- screenshot


async def _take_image(
    message: Message,
    state: FSMContext,
    lang: str,
    settings: Settings,
    *,
    file_id: str,
    size: int | None,
) -> None:
    """Keep the image for the report (the worker downloads it), unless it is too large."""
    if size is not None and size > settings.max_upload_bytes:
        problem = gettext(
            lang,
            "This photo is larger than %(mb)s MB. Send a smaller one or press Skip.",
            mb=f"{settings.max_upload_mb:g}",
        )
        await _ask(message, state, "screenshot", lang, problem)
        return
    await state.update_data(photo=file_id)
    await _next(message, state, "screenshot", lang)


@router.message(StateFilter(BugDialog.screenshot), F.photo)
async def photo_step(message: Message, state: FSMContext, lang: str, settings: Settings) -> None:
    assert message.photo is not None
    best = max(message.photo, key=lambda p: p.width * p.height)
    await _take_image(message, state, lang, settings, file_id=best.file_id, size=best.file_size)


@router.message(StateFilter(BugDialog.screenshot), F.document)
async def document_step(message: Message, state: FSMContext, lang: str, settings: Settings) -> None:
    doc = message.document
    assert doc is not None
    if not (doc.mime_type or "").startswith("image/"):
        await _ask(message, state, "screenshot", lang, gettext(lang, "This file is not an image."))
        return
    await _take_image(message, state, lang, settings, file_id=doc.file_id, size=doc.file_size)


@router.message(StateFilter(BugDialog.screenshot), F.text.lower().in_({"skip", "/skip"}))
async def skip_text(message: Message, state: FSMContext, lang: str) -> None:
    await state.update_data(photo=None)
    await _next(message, state, "screenshot", lang)


@router.message(StateFilter(BugDialog.screenshot), ~F.text.startswith("/"))
async def screenshot_wrong(message: Message, state: FSMContext, lang: str) -> None:
    await _ask(
        message, state, "screenshot", lang, gettext(lang, "Please send a photo or press Skip.")
    )


@router.callback_query(StateFilter(BugDialog.screenshot), F.data.startswith("bug:skip:"))
async def skip_button(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    if isinstance(callback.message, Message):
        await state.update_data(photo=None)
        await _next(callback.message, state, "screenshot", lang)
    await callback.answer()  # after the reply: the user sees the next step one round trip sooner


# ---------------------------------------------------------------------- priority


@router.callback_query(StateFilter(BugDialog.priority), F.data.startswith("bug:p:"))
async def priority_button(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    priority = (callback.data or "").split(":")[2]
    if priority in PRIORITIES and isinstance(callback.message, Message):
        await state.update_data(priority=priority)
        await _confirm(callback.message, state, lang)
    await callback.answer()


@router.message(StateFilter(BugDialog.priority), ~F.text.startswith("/"))
async def priority_wrong(message: Message, state: FSMContext, lang: str) -> None:
    await _ask(
        message, state, "priority", lang, gettext(lang, "Please choose a priority with a button.")
    )


# ------------------------------------------------------------ summary: edit/cancel


@router.callback_query(StateFilter(BugDialog.confirm), F.data.startswith("bug:edit:"))
async def edit_button(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    nonce = (await state.get_data()).get("nonce", "")
    rows = [
        [(gettext(lang, FIELD_NAMES[f]), f"bug:ef:{f}:{nonce}") for f in pair]
        for pair in (("title", "what_doing"), ("expected", "actual"), ("screenshot", "priority"))
    ]
    await callback.message.answer(
        gettext(lang, "What would you like to change?"), reply_markup=keyboard(rows)
    )


@router.callback_query(StateFilter(BugDialog.confirm), F.data.startswith("bug:ef:"))
async def edit_field(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    await callback.answer()
    field = (callback.data or "").split(":")[2]
    if field not in FIELD_NAMES or not isinstance(callback.message, Message):
        return
    await state.update_data(editing=True)
    await _ask(callback.message, state, field, lang)


@router.message(StateFilter(BugDialog.confirm), ~F.text.startswith("/"))
async def confirm_wrong(message: Message, state: FSMContext, lang: str) -> None:
    await message.answer(gettext(lang, "Please press Submit, Edit or Cancel."))
    await _confirm(message, state, lang)


@router.callback_query(F.data.startswith("bug:cancel:"))
async def cancel_button(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    nonce = (callback.data or "").split(":")[2]
    data = await state.get_data()
    if await state.get_state() and data.get("nonce") == nonce:
        await state.clear()
        if isinstance(callback.message, Message):
            await callback.message.answer(gettext(lang, "Cancelled. Nothing was sent."))
    await callback.answer()


# ------------------------------------------------------------------------ submit


@router.callback_query(F.data.startswith("bug:submit:"))
async def submit(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    lang: str,
    settings: Settings,
) -> None:
    nonce = (callback.data or "").split(":")[2]
    message = callback.message if isinstance(callback.message, Message) else None
    if user is None or message is None:
        await callback.answer()
        return
    client_token = f"tg:{user.id}:{nonce}"
    data = await state.get_data()
    if await state.get_state() != BugDialog.confirm.state or data.get("nonce") != nonce:
        # A second tap (or an old summary): report what the first tap did, file nothing.
        existing = await support.bug_by_client_token(session, client_token=client_token)
        if existing is not None:
            await callback.answer(
                gettext(lang, "Already sent as bug #%(id)s.", id=existing.id), show_alert=False
            )
        else:
            await callback.answer(gettext(lang, "This report is no longer open."))
        return
    report = support.BugReport(
        title=str(data.get("title", "")),
        what_doing=str(data.get("what_doing", "")),
        expected=str(data.get("expected", "")),
        actual=str(data.get("actual", "")),
        priority=str(data.get("priority", "medium")),
        telegram_file_id=str(data["photo"]) if data.get("photo") else None,
        client_token=client_token,
    )
    try:
        filed = await support.file_bug(
            session, settings=settings, reporter_id=user.id, report=report, source="telegram"
        )
    except RateLimited as exc:
        await callback.answer()
        await message.answer("⏳ " + gettext(lang, exc.message, **exc.params))
        return
    except Invalid as exc:
        await callback.answer()
        problems = [gettext(lang, m) for m in exc.fields.values()] or [gettext(lang, exc.message)]
        await message.answer("⚠️ " + "\n".join(problems))
        return
    bug = filed.bug
    await state.clear()
    # The bug and the closed dialog are committed before this reply (CommitBeforeSending).
    await message.answer(
        gettext(
            lang,
            "✅ Thank you! Your report is bug #%(id)s. I will write here when its GitHub "
            "issue is created and whenever its status changes.",
            id=bug.id,
        )
    )
    await callback.answer()
    await message.edit_reply_markup(reply_markup=None)
