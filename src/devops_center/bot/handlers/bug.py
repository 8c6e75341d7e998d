"""/bug: title → doing → expected → actual → screenshot → priority → Submit / Edit / Cancel.

The rate limit is checked when the dialog starts (nobody fills six steps to be told
no), each step validates its answer with the web's limits and says the limit when it
is exceeded, /cancel leaves at any step. Submit files the bug with
``support.file_bug``, with an idempotency token made of the dialog's nonce, so a double
tap files one bug. A photo is fetched later by the worker.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import BugDialogCb, Menu
from devops_center.bot.handlers import deflect
from devops_center.bot.ui import Inline, InPrivate, esc, keyboard
from devops_center.config import Settings
from devops_center.digest.labels import priority_label
from devops_center.errors import Invalid, RateLimited
from devops_center.i18n import SUPPORTED, gettext, lazy, ngettext
from devops_center.support import service as support
from devops_center.support.models import PRIORITIES
from devops_center.users.models import User

router = Router(name="bug")


class BugDialog(StatesGroup):
    title = State()
    what_doing = State()
    expected = State()
    actual = State()
    screenshot = State()
    priority = State()
    confirm = State()


TEXT_STEPS = ("title", "what_doing", "expected", "actual")
ORDER = (*TEXT_STEPS, "screenshot", "priority")
PROMPTS = {
    "title": lazy("Step 1 of 6. Give the problem a short title (3 to 200 characters)."),
    "what_doing": lazy("Step 2 of 6. What were you doing when it happened?"),
    "expected": lazy("Step 3 of 6. What did you expect to happen?"),
    "actual": lazy("Step 4 of 6. What happened instead?"),
    "screenshot": lazy(
        "Step 5 of 6. Send a screenshot as a photo (up to %(mb)s MB), or press Skip."
    ),
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
SKIP = lazy("skip")
SKIP_WORDS = frozenset({"skip", "/skip", *(gettext(lang, SKIP) for lang in SUPPORTED)})
in_text_step = StateFilter(*(getattr(BugDialog, s) for s in TEXT_STEPS))


def _nonce(data: dict[str, Any]) -> str:
    return str(data.get("nonce", ""))


def _cb(action: str, data: dict[str, Any], value: str = "") -> BugDialogCb:
    return BugDialogCb(action=action, nonce=_nonce(data), value=value)


def _markup(step: str, lang: str, data: dict[str, Any]) -> InlineKeyboardMarkup:
    rows: list[list[tuple[str, Any]]] = []
    if step == "screenshot":
        rows.append([(gettext(lang, "Skip"), _cb("skip", data))])
    if step == "priority":
        prio = [(priority_label(p, lang), _cb("prio", data, p)) for p in PRIORITIES]
        rows += [prio[:2], prio[2:]]
    rows.append([(gettext(lang, "✖ Cancel"), _cb("cancel", data))])
    return keyboard(*rows)


async def _ask(
    message: Message, state: FSMContext, step: str, lang: str, settings: Settings, error: str = ""
) -> None:
    data = await state.get_data()
    text = gettext(lang, PROMPTS[step], mb=f"{settings.max_upload_mb:g}")
    if error:
        text = f"⚠️ {error}\n\n{text}"
    await state.set_state(getattr(BugDialog, step))  # stored with the prompt (one commit)
    await message.answer(text, reply_markup=_markup(step, lang, data))


def summary(data: dict[str, Any], lang: str) -> str:
    """The report as the reporter will submit it (long values make several messages)."""
    values = {name: esc(data.get(name, "")) for name in TEXT_STEPS}
    values["screenshot"] = gettext(lang, "attached") if data.get("photo") else gettext(lang, "none")
    values["priority"] = priority_label(str(data.get("priority", "medium")), lang)
    lines = [gettext(lang, "Please check your report:"), ""]
    for name, value in values.items():
        lines.append(f"<b>{esc(gettext(lang, FIELD_NAMES[name]))}:</b> {value}")
    return "\n".join(lines)


async def _confirm(message: Message, state: FSMContext, lang: str) -> None:
    data = await state.get_data()
    markup = keyboard(
        [(gettext(lang, "✅ Submit"), _cb("submit", data))],
        [
            (gettext(lang, "✏️ Edit"), _cb("edit", data)),
            (gettext(lang, "✖ Cancel"), _cb("cancel", data)),
        ],
    )
    await state.update_data(editing=False)
    await state.set_state(BugDialog.confirm)
    await message.answer(summary(data, lang), reply_markup=markup)


async def _next(
    message: Message, state: FSMContext, step: str, lang: str, settings: Settings
) -> None:
    """After a valid answer to ``step``: the next step, or the summary when editing."""
    if (await state.get_data()).get("editing"):
        await _confirm(message, state, lang)
        return
    await _ask(message, state, ORDER[ORDER.index(step) + 1], lang, settings)


def problem(step: str, value: str, lang: str) -> str | None:
    """What is wrong with ``value`` for ``step``, with the field's limit, or None."""
    n = len(value)
    if step == "title" and n < support.TITLE_MIN:
        return gettext(lang, "The title needs at least %(min)s characters.", min=support.TITLE_MIN)
    if step == "title" and n > support.TITLE_MAX:
        return gettext(
            lang,
            "The title may have at most %(max)s characters (now %(n)s).",
            max=support.TITLE_MAX,
            n=n,
        )
    if not value:
        return gettext(lang, "This field is required")
    if n > support.TEXT_MAX:
        return gettext(
            lang,
            "This answer may have at most %(max)s characters (now %(n)s).",
            max=format_decimal(support.TEXT_MAX, locale=lang),
            n=format_decimal(n, locale=lang),
        )
    return None


def rate_limited(exc: RateLimited, lang: str) -> str:
    n = int(str(exc.params.get("n", 0)))
    return "⏳ " + ngettext(
        lang,
        "You have sent %(num)s report in the last hour. Please wait a little.",
        "You have sent %(num)s reports in the last hour. Please wait a little.",
        n,
    )


# ----------------------------------------------------------------------- entering


async def begin(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
    title: str = "",
) -> None:
    """A new dialog, unless the reporter already filed their hourly share; ``title``
    (a question the brain could not answer) is taken as the first answer."""
    try:
        await support.check_bug_rate_limit(
            session, user_id=user.id, per_hour=settings.bug_rate_limit_per_hour
        )
    except RateLimited as exc:
        await message.answer(rate_limited(exc, lang))
        return
    await state.set_data({"nonce": secrets.token_hex(6), "priority": "medium"})
    title = " ".join(title.split())[: support.TITLE_MAX]
    if title and problem("title", title, lang) is None:
        await state.update_data(title=title)
        await message.answer(gettext(lang, "Title: %(title)s", title=esc(title)))
        await _ask(message, state, "what_doing", lang, settings)
        return
    await _ask(message, state, "title", lang, settings)


@router.message(Command("bug"), InPrivate())
async def bug_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    await begin(message, state, session, user, lang, settings)


@router.callback_query(Menu.filter(F.to == "bug"), InPrivate())
async def bug_menu(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    if isinstance(callback.message, Message):
        await begin(callback.message, state, session, user, lang, settings)
    await callback.answer()


# -------------------------------------------------------------------- text steps


@router.message(in_text_step, Inline(F.text), ~Inline(F.text.startswith("/")))
async def text_step(
    message: Message,
    state: FSMContext,
    raw_state: str,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    step = raw_state.split(":")[-1]  # "BugDialog:title" -> "title"
    value = (message.text or "").strip()
    error = problem(step, value, lang)
    if error:
        await _ask(message, state, step, lang, settings, error)
        return
    data = await state.update_data({step: value})
    if step == "title" and not data.get("editing"):  # answers and known issues first
        await deflect.suggest(message, session, user, lang, settings, value, _nonce(data))
    await _next(message, state, step, lang, settings)


@router.message(in_text_step, ~Inline(F.text))
async def text_step_wrong_type(
    message: Message, state: FSMContext, raw_state: str, lang: str, settings: Settings
) -> None:
    step = raw_state.split(":")[-1]
    await _ask(message, state, step, lang, settings, gettext(lang, "Please answer with text."))


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
        error = gettext(
            lang,
            "This photo is larger than %(mb)s MB. Send a smaller one or press Skip.",
            mb=f"{settings.max_upload_mb:g}",
        )
        await _ask(message, state, "screenshot", lang, settings, error)
        return
    await state.update_data(photo=file_id)
    await _next(message, state, "screenshot", lang, settings)


@router.message(StateFilter(BugDialog.screenshot), Inline(F.photo))
async def photo_step(message: Message, state: FSMContext, lang: str, settings: Settings) -> None:
    best = max(message.photo or [], key=lambda p: p.width * p.height)
    await _take_image(message, state, lang, settings, file_id=best.file_id, size=best.file_size)


@router.message(StateFilter(BugDialog.screenshot), Inline(F.document))
async def document_step(message: Message, state: FSMContext, lang: str, settings: Settings) -> None:
    doc = message.document
    assert doc is not None
    if not (doc.mime_type or "").startswith("image/"):
        error = gettext(lang, "This file is not an image.")
        await _ask(message, state, "screenshot", lang, settings, error)
        return
    await _take_image(message, state, lang, settings, file_id=doc.file_id, size=doc.file_size)


@router.message(
    StateFilter(BugDialog.screenshot),
    Inline(F.text.func(lambda t: t.strip().lower() in SKIP_WORDS)),
)
async def skip_text(message: Message, state: FSMContext, lang: str, settings: Settings) -> None:
    await state.update_data(photo=None)
    await _next(message, state, "screenshot", lang, settings)


@router.message(StateFilter(BugDialog.screenshot), ~Inline(F.text.startswith("/")))
async def screenshot_wrong(
    message: Message, state: FSMContext, lang: str, settings: Settings
) -> None:
    error = gettext(lang, "Please send a photo or press Skip.")
    await _ask(message, state, "screenshot", lang, settings, error)


@router.callback_query(StateFilter(BugDialog.screenshot), BugDialogCb.filter(F.action == "skip"))
async def skip_button(
    callback: CallbackQuery, state: FSMContext, lang: str, settings: Settings
) -> None:
    if isinstance(callback.message, Message):
        await state.update_data(photo=None)
        await _next(callback.message, state, "screenshot", lang, settings)
    await callback.answer()  # after the reply: the user sees the next step one round trip sooner


# ---------------------------------------------------------------------- priority


@router.callback_query(
    StateFilter(BugDialog.priority),
    BugDialogCb.filter((F.action == "prio") & F.value.in_(PRIORITIES)),
)
async def priority_button(
    callback: CallbackQuery, callback_data: BugDialogCb, state: FSMContext, lang: str
) -> None:
    if isinstance(callback.message, Message):
        await state.update_data(priority=callback_data.value)
        await _confirm(callback.message, state, lang)
    await callback.answer()


@router.message(StateFilter(BugDialog.priority), ~Inline(F.text.startswith("/")))
async def priority_wrong(
    message: Message, state: FSMContext, lang: str, settings: Settings
) -> None:
    error = gettext(lang, "Please choose a priority with a button.")
    await _ask(message, state, "priority", lang, settings, error)


# ------------------------------------------------------------ summary: edit/cancel


@router.callback_query(StateFilter(BugDialog.confirm), BugDialogCb.filter(F.action == "edit"))
async def edit_button(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    data = await state.get_data()
    pairs = (("title", "what_doing"), ("expected", "actual"), ("screenshot", "priority"))
    rows = [
        [(gettext(lang, FIELD_NAMES[f]), _cb("field", data, f)) for f in pair] for pair in pairs
    ]
    if isinstance(callback.message, Message):
        await callback.message.answer(
            gettext(lang, "What would you like to change?"), reply_markup=keyboard(*rows)
        )
    await callback.answer()


@router.callback_query(
    StateFilter(BugDialog.confirm),
    BugDialogCb.filter((F.action == "field") & F.value.in_(ORDER)),
)
async def edit_field(
    callback: CallbackQuery,
    callback_data: BugDialogCb,
    state: FSMContext,
    lang: str,
    settings: Settings,
) -> None:
    if isinstance(callback.message, Message):
        await state.update_data(editing=True)
        await _ask(callback.message, state, callback_data.value, lang, settings)
    await callback.answer()


@router.message(StateFilter(BugDialog.confirm), ~Inline(F.text.startswith("/")))
async def confirm_wrong(message: Message, state: FSMContext, lang: str) -> None:
    await message.answer(gettext(lang, "Please press Submit, Edit or Cancel."))
    await _confirm(message, state, lang)


@router.callback_query(BugDialogCb.filter(F.action == "cancel"))
async def cancel_button(
    callback: CallbackQuery, callback_data: BugDialogCb, state: FSMContext, lang: str
) -> None:
    data = await state.get_data()
    if await state.get_state() is None or _nonce(data) != callback_data.nonce:
        await callback.answer(gettext(lang, "This report is no longer open."))
        return
    await state.clear()
    if isinstance(callback.message, Message):
        await callback.message.answer(gettext(lang, "Cancelled. Nothing was sent."))
    await callback.answer()


# ------------------------------------------------------------------------ submit


@router.callback_query(BugDialogCb.filter(F.action == "submit"), InPrivate())
async def submit(
    callback: CallbackQuery,
    callback_data: BugDialogCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    data = await state.get_data()
    token = deflect.form_token(user, callback_data.nonce)
    if await state.get_state() != BugDialog.confirm.state or _nonce(data) != callback_data.nonce:
        # A second tap (or an old summary): report what the first tap did, file nothing.
        existing = await support.find_by_client_token(session, user_id=user.id, client_token=token)
        notice = (
            gettext(lang, "Already sent as bug #%(id)s.", id=existing.id)
            if existing is not None
            else gettext(lang, "This report is no longer open.")
        )
        await callback.answer(notice)
        return
    await _file(callback.message, state, session, user, lang, settings, data, token)
    await callback.answer()  # after the reply: the user sees it one round trip sooner


async def _file(
    message: Any,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
    data: dict[str, Any],
    token: str,
) -> None:
    report = support.BugReport(
        title=str(data.get("title", "")),
        what_doing=str(data.get("what_doing", "")),
        expected=str(data.get("expected", "")),
        actual=str(data.get("actual", "")),
        priority=str(data.get("priority", "medium")),
        telegram_file_id=str(data["photo"]) if data.get("photo") else None,
        client_token=token,
    )
    try:
        filed = await support.file_bug(
            session, settings=settings, reporter_id=user.id, report=report, source="telegram"
        )
    except RateLimited as exc:
        await message.answer(rate_limited(exc, lang))
        return
    except Invalid as exc:
        problems = [gettext(lang, m) for m in exc.fields.values()] or [gettext(lang, exc.message)]
        await message.answer("⚠️ " + "\n".join(problems))
        return
    await state.clear()
    # The bug and the closed dialog are committed before this reply (CommitBeforeSending).
    await message.answer(
        gettext(
            lang,
            "✅ Thank you! Your report is bug #%(id)s. I will write here when its GitHub "
            "issue is created and whenever its status changes.",
            id=filed.bug.id,
        )
    )
    if isinstance(message, Message):
        await message.edit_reply_markup(reply_markup=None)
