"""/faq: categories → questions → answer with 👍/👎; ``/faq words`` searches."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.common import RouterSpec, answer_long, esc, keyboard
from devops_center.errors import NotFound
from devops_center.i18n import gettext
from devops_center.support import service as support
from devops_center.support.models import FaqEntry
from devops_center.users.models import User

router = RouterSpec("faq")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _question_rows(entries: list[FaqEntry]) -> list[list[tuple[str, str]]]:
    return [[(_short(e.question), f"faq:q:{e.id}")] for e in entries]


def _vote_rows(entry: FaqEntry) -> list[list[tuple[str, str]]]:
    return [
        [
            (f"👍 {entry.helpful_count}", f"faq:v:{entry.id}:1"),
            (f"👎 {entry.not_helpful_count}", f"faq:v:{entry.id}:0"),
        ]
    ]


async def show_categories(message: Message, session: AsyncSession, lang: str) -> None:
    categories = await support.faq_categories(session, language=lang)
    if not categories:
        await message.answer(gettext(lang, "There are no questions in the FAQ yet."))
        return
    rows = [[(_short(c), f"faq:c:{i}")] for i, c in enumerate(categories[:50])]
    await message.answer(gettext(lang, "Choose a topic:"), reply_markup=keyboard(rows))


@router.message(Command("faq"))
async def faq(message: Message, command: CommandObject, session: AsyncSession, lang: str) -> None:
    query = (command.args or "").strip()
    if not query:
        await show_categories(message, session, lang)
        return
    found = await support.search_faq(session, query=query[:200], language=lang, limit=10)
    if not found:
        await message.answer(
            gettext(
                lang,
                "Nothing found for “%(query)s”. Try other words, or report a bug with /bug.",
                query=esc(query[:200]),
            )
        )
        return
    await message.answer(
        gettext(lang, "Found for “%(query)s”:", query=esc(query[:200])),
        reply_markup=keyboard(_question_rows(found)),
    )


@router.callback_query(F.data == "menu:faq")
async def faq_menu(callback: CallbackQuery, session: AsyncSession, lang: str) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await show_categories(callback.message, session, lang)


@router.callback_query(F.data.startswith("faq:c:"))
async def category(callback: CallbackQuery, session: AsyncSession, lang: str) -> None:
    await callback.answer()
    categories = await support.faq_categories(session, language=lang)
    index = int((callback.data or "").split(":")[2] or -1)
    if not 0 <= index < len(categories) or not isinstance(callback.message, Message):
        return
    entries = await support.faq_entries(session, language=lang, category=categories[index])
    await callback.message.answer(
        f"<b>{esc(categories[index])}</b>", reply_markup=keyboard(_question_rows(entries[:50]))
    )


@router.callback_query(F.data.startswith("faq:q:"))
async def question(callback: CallbackQuery, session: AsyncSession, lang: str) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    try:
        entry = await support.open_faq(session, faq_id=int((callback.data or "").split(":")[2]))
    except (NotFound, ValueError):
        await callback.message.answer(gettext(lang, "This question no longer exists."))
        return
    text = f"<b>{esc(entry.question)}</b>\n\n{esc(entry.answer)}\n\n" + gettext(
        lang, "Was this helpful?"
    )
    await answer_long(callback.message, text, keyboard(_vote_rows(entry)))


@router.callback_query(F.data.startswith("faq:v:"))
async def vote(
    callback: CallbackQuery, session: AsyncSession, user: User | None, lang: str
) -> None:
    parts = (callback.data or "").split(":")
    if user is None or len(parts) != 4:
        await callback.answer()
        return
    try:
        entry = await support.vote_faq(
            session, faq_id=int(parts[2]), user_id=user.id, helpful=parts[3] == "1"
        )
    except (NotFound, ValueError):
        await callback.answer(gettext(lang, "This question no longer exists."))
        return
    await callback.answer(gettext(lang, "Thank you for your feedback!"))
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=keyboard(_vote_rows(entry)))
