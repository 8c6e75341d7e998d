"""A message that is not a command, outside any dialog: answered from the support brain.

The best FAQ answer (a confident one), or the FAQ questions that come close, and the
known issues ("Already reported: …", "Fixed on 3 Dec in deploy abc1234: …"), under
"Did this help?" Yes / No — report a bug. No starts /bug with the question as its title.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import AskCb, FaqCb
from devops_center.bot.handlers import bug
from devops_center.bot.ui import Inline, InPrivate, Row, esc, keyboard
from devops_center.brain import answers, presenter
from devops_center.brain.models import BrainQuestion
from devops_center.config import Settings
from devops_center.i18n import gettext
from devops_center.users.models import User

router = Router(name="ask")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reply(found: answers.Answer, lang: str) -> tuple[str, list[Row]]:
    """The text and buttons answering a free-text question."""
    lines: list[str] = []
    rows: list[Row] = []
    if found.best is not None:
        lines += [f"<b>{esc(found.best.question)}</b>", "", esc(_short(found.best.answer, 1500))]
    elif found.items:
        lines.append(gettext(lang, "I am not sure. Perhaps one of these questions:"))
        rows += [
            [(_short(i.question, 60), FaqCb(action="question", id=i.id))] for i in found.items[:3]
        ]
    if found.issues:
        if lines:
            lines.append("")
        lines += [f"• {esc(presenter.issue_line(i, lang))}" for i in found.issues]
    if not lines:
        lines.append(
            gettext(lang, "I do not know the answer yet; the team will see your question.")
        )
    q = found.question_id or 0
    if found.best is not None or found.items or found.issues:
        lines += ["", gettext(lang, "Did this help?")]
        rows.append(
            [
                (gettext(lang, "👍 Yes"), AskCb(action="yes", q=q)),
                (gettext(lang, "👎 No — report a bug"), AskCb(action="no", q=q)),
            ]
        )
    else:
        rows.append([(gettext(lang, "🐞 Report a bug"), AskCb(action="no", q=q))])
    return "\n".join(lines), rows


@router.message(InPrivate(), StateFilter(None), Inline(F.text), ~Inline(F.text.startswith("/")))
async def free_text(
    message: Message, session: AsyncSession, user: User, lang: str, settings: Settings
) -> None:
    found = await answers.ask(
        session,
        message.text or "",
        language=lang,
        channel="bot_text",
        user_id=user.id,
        limit=3,
        issues=True,
        model=settings.embedding_model,
    )
    text, rows = reply(found, lang)
    await message.answer(text, reply_markup=keyboard(*rows))


@router.callback_query(AskCb.filter(), InPrivate())
async def did_it_help(
    callback: CallbackQuery,
    callback_data: AskCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    helpful = callback_data.action == "yes"
    row = await answers.feedback(
        session, question_id=callback_data.q, helpful=helpful, user_id=user.id
    )
    message = callback.message if isinstance(callback.message, Message) else None
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
    if helpful or message is None:
        await callback.answer(gettext(lang, "Thank you for your feedback!"))
        return
    await callback.answer()
    title = row.text if isinstance(row, BrainQuestion) else ""
    await bug.begin(message, state, session, user, lang, settings, title=title)
