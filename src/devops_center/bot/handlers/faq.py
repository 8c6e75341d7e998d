"""/faq: topics → questions → an answer with 👍/👎, Back and Home; ``/faq words`` searches.

Pages change in place (the message is edited) as the user moves between them.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.callbacks import FaqCb, Menu
from devops_center.bot.ui import Row, esc, home_row, keyboard, show
from devops_center.brain import answers
from devops_center.brain import service as brain
from devops_center.config import Settings
from devops_center.errors import NotFound
from devops_center.i18n import gettext
from devops_center.support import service as support
from devops_center.support.models import FaqEntry
from devops_center.users.models import User

router = Router(name="faq")

MAX_BUTTONS = 50


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _questions(entries: Sequence[FaqEntry | brain.SearchItem]) -> list[Row]:
    return [[(_short(e.question), FaqCb(action="question", id=e.id))] for e in entries]


def _back(lang: str, to: FaqCb) -> Row:
    return [(gettext(lang, "◀ Back"), to), *home_row(lang)]


async def show_topics(target: Message | CallbackQuery, session: AsyncSession, lang: str) -> None:
    topics = await support.faq_categories(session, language=lang)
    if not topics:
        await show(target, gettext(lang, "There are no questions in the FAQ yet."))
        return
    rows = [[(_short(t), FaqCb(action="topic", id=i))] for i, t in enumerate(topics[:MAX_BUTTONS])]
    await show(target, gettext(lang, "Choose a topic:"), keyboard(*rows, home_row(lang)))


@router.message(Command("faq"))
async def faq(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: User | None,
    lang: str,
    settings: Settings,
) -> None:
    query = (command.args or "").strip()[:200]
    if not query:
        await show_topics(message, session, lang)
        return
    asked = await answers.ask(
        session,
        query,
        language=lang,
        channel="bot_faq",
        user_id=user.id if user else None,
        limit=10,
        model=settings.embedding_model,
    )
    found = asked.items
    if not found:
        text = gettext(
            lang,
            "Nothing found for “%(query)s”. Try other words, or report a bug with /bug.",
            query=esc(query),
        )
        await message.answer(text)
        return
    text = gettext(lang, "Found for “%(query)s”:", query=esc(query))
    await message.answer(text, reply_markup=keyboard(*_questions(found), home_row(lang)))


@router.callback_query(Menu.filter(F.to == "faq"))
@router.callback_query(FaqCb.filter(F.action == "topics"))
async def topics(callback: CallbackQuery, session: AsyncSession, lang: str) -> None:
    await show_topics(callback, session, lang)
    await callback.answer()


@router.callback_query(FaqCb.filter(F.action == "topic"))
async def topic(
    callback: CallbackQuery, callback_data: FaqCb, session: AsyncSession, lang: str
) -> None:
    names = await support.faq_categories(session, language=lang)
    if callback_data.id >= len(names):  # the topics changed since the buttons were sent
        await callback.answer(gettext(lang, "This topic no longer exists."))
        await show_topics(callback, session, lang)
        return
    name = names[callback_data.id]
    entries = await support.faq_entries(session, language=lang, category=name)
    back = _back(lang, FaqCb(action="topics"))
    await show(callback, f"<b>{esc(name)}</b>", keyboard(*_questions(entries[:MAX_BUTTONS]), back))
    await callback.answer()


def _answer_markup(entry: FaqEntry, topic_index: int | None, lang: str) -> list[Row]:
    votes: Row = [
        (f"👍 {entry.helpful_count}", FaqCb(action="vote", id=entry.id, helpful=True)),
        (f"👎 {entry.not_helpful_count}", FaqCb(action="vote", id=entry.id, helpful=False)),
    ]
    to = (
        FaqCb(action="topic", id=topic_index) if topic_index is not None else FaqCb(action="topics")
    )
    return [votes, _back(lang, to)]


async def _topic_index(session: AsyncSession, entry: FaqEntry, lang: str) -> int | None:
    names = await support.faq_categories(session, language=lang)
    return names.index(entry.category) if entry.category in names else None


@router.callback_query(FaqCb.filter(F.action == "question"))
async def question(
    callback: CallbackQuery, callback_data: FaqCb, session: AsyncSession, lang: str
) -> None:
    try:
        entry = await support.open_faq(session, faq_id=callback_data.id)
    except NotFound:
        await callback.answer(gettext(lang, "This question no longer exists."))
        return
    text = f"<b>{esc(entry.question)}</b>\n\n{esc(entry.answer)}\n\n" + gettext(
        lang, "Was this helpful?"
    )
    rows = _answer_markup(entry, await _topic_index(session, entry, lang), lang)
    await show(callback, text, keyboard(*rows))
    await callback.answer()


@router.callback_query(FaqCb.filter(F.action == "vote"))
async def vote(
    callback: CallbackQuery,
    callback_data: FaqCb,
    session: AsyncSession,
    user: User | None,
    lang: str,
) -> None:
    if user is None:
        await callback.answer()
        return
    try:
        entry = await support.vote_faq(
            session, faq_id=callback_data.id, user_id=user.id, helpful=callback_data.helpful
        )
    except NotFound:
        await callback.answer(gettext(lang, "This question no longer exists."))
        return
    rows = _answer_markup(entry, await _topic_index(session, entry, lang), lang)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=keyboard(*rows))
    await callback.answer(gettext(lang, "Thank you for your feedback!"))
