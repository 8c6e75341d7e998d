"""The FAQ knowledge base: reading, search, votes, and the admin's editing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.outbox import messages as jobs
from devops_center.outbox import service as outbox
from devops_center.support import search as faq_search
from devops_center.support.models import FaqEntry, FaqVote
from devops_center.users import auditlog

# ------------------------------------------------------------------------------ FAQ


async def faq_categories(session: AsyncSession, *, language: str) -> list[str]:
    """Categories of a language in ``order_index`` order."""
    rows = await session.execute(
        select(FaqEntry.category, func.min(FaqEntry.order_index).label("o"))
        .where(FaqEntry.language == language)
        .group_by(FaqEntry.category)
        .order_by("o")
    )
    return [category for category, _o in rows]


def display_order(entries: list[FaqEntry]) -> list[FaqEntry]:
    """Each category's entries together, the categories in the order of their first
    entry, ``order_index`` inside a category (a stable sort). Without it an entry saved
    with an empty order (put last) split its category and drew its heading twice."""
    first: dict[tuple[str, str], int] = {}
    for entry in entries:
        first.setdefault((entry.language, entry.category), len(first))
    return sorted(entries, key=lambda e: (e.language, first[(e.language, e.category)]))


async def faq_entries(
    session: AsyncSession, *, language: str, category: str | None = None
) -> list[FaqEntry]:
    stmt = select(FaqEntry).where(FaqEntry.language == language)
    if category:
        stmt = stmt.where(FaqEntry.category == category)
    ordered = stmt.order_by(FaqEntry.order_index, FaqEntry.id)
    return display_order(list((await session.execute(ordered)).scalars()))


async def list_faq(
    session: AsyncSession, *, language: str | None = None, category: str | None = None
) -> list[FaqEntry]:
    """Entries in display order (language, then ``order_index``), optionally filtered."""
    stmt = select(FaqEntry)
    if language:
        stmt = stmt.where(FaqEntry.language == language)
    if category:
        stmt = stmt.where(FaqEntry.category == category)
    stmt = stmt.order_by(FaqEntry.language, FaqEntry.order_index, FaqEntry.id)
    return display_order(list((await session.execute(stmt)).scalars()))


async def top_faq(session: AsyncSession, *, language: str, limit: int = 5) -> list[FaqEntry]:
    stmt = (
        select(FaqEntry)
        .where(FaqEntry.language == language)
        .order_by(FaqEntry.views_count.desc(), FaqEntry.helpful_count.desc(), FaqEntry.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def search_faq(
    session: AsyncSession, *, query: str, language: str | None = None, limit: int = 20
) -> list[FaqEntry]:
    """Entries matching ``query`` in question or answer, best first.

    Full-text with ranking: SQLite FTS5 (``faq_fts``) or PostgreSQL ``tsvector`` with
    ``websearch_to_tsquery``; see :mod:`devops_center.support.search`.
    """
    built = await faq_search.search_statement(
        session, query=query[:500], language=language, limit=max(1, min(limit, 100))
    )
    if built is None:
        return []
    stmt, params = built
    rows = await session.execute(select(FaqEntry).from_statement(stmt), params)
    return list(rows.scalars())


async def open_faq(session: AsyncSession, *, faq_id: int, count_view: bool = True) -> FaqEntry:
    entry = await session.get(FaqEntry, faq_id)
    if entry is None:
        raise NotFound(lazy("No such FAQ entry"))
    if count_view:
        entry.views_count = FaqEntry.views_count + 1
        await session.flush()
        await session.refresh(entry)
    return entry


async def vote_faq(session: AsyncSession, *, faq_id: int, user_id: int, helpful: bool) -> FaqEntry:
    """One vote per user per entry; a second vote replaces the first. Counters kept in step."""
    entry = await session.get(FaqEntry, faq_id, with_for_update=True)
    if entry is None:
        raise NotFound(lazy("No such FAQ entry"))
    vote = await session.scalar(
        select(FaqVote).where(FaqVote.faq_id == faq_id, FaqVote.user_id == user_id)
    )
    if vote is not None and vote.helpful == helpful:
        return entry
    if vote is None:
        session.add(FaqVote(faq_id=faq_id, user_id=user_id, helpful=helpful))
    else:
        vote.helpful = helpful
        if helpful:
            entry.not_helpful_count = max(0, entry.not_helpful_count - 1)
        else:
            entry.helpful_count = max(0, entry.helpful_count - 1)
    if helpful:
        entry.helpful_count += 1
    else:
        entry.not_helpful_count += 1
    await session.flush()
    return entry


async def my_vote(session: AsyncSession, *, faq_id: int, user_id: int) -> bool | None:
    vote = await session.scalar(
        select(FaqVote).where(FaqVote.faq_id == faq_id, FaqVote.user_id == user_id)
    )
    return None if vote is None else vote.helpful


# ---------------------------------------------------------------------- admin: FAQ


async def _reindex(session: AsyncSession, faq_id: int | None = None) -> None:
    """The support brain (above this package) re-embeds what changed, via the worker;
    the full-text index is kept in step by the database at once."""
    message = jobs.ReindexBrain() if faq_id is None else jobs.IndexBrainDocument(source_id=faq_id)
    await outbox.enqueue(session, message)


@dataclass(frozen=True)
class FaqInput:
    category: str
    question: str
    answer: str
    language: str = "en"
    order_index: int | None = None


TEXT_MAX = 10_000
CATEGORY_MAX = 100
QUESTION_MAX = 1000


def validate_faq(data: FaqInput) -> FaqInput:
    errors: dict[str, str] = {}
    category = " ".join((data.category or "").split())
    question = (data.question or "").strip()
    answer = (data.answer or "").strip()
    if not category:
        errors["category"] = lazy("This field is required")
    elif len(category) > CATEGORY_MAX:
        errors["category"] = lazy("At most 100 characters")
    if not question:
        errors["question"] = lazy("This field is required")
    elif len(question) > QUESTION_MAX:
        errors["question"] = lazy("At most 1,000 characters")
    if not answer:
        errors["answer"] = lazy("This field is required")
    elif len(answer) > TEXT_MAX:
        errors["answer"] = lazy("At most 10,000 characters")
    if data.language not in ("ru", "en"):
        errors["language"] = lazy("Choose Russian or English")
    if errors:
        raise Invalid(lazy("Please correct the marked fields"), fields=errors)
    return FaqInput(category, question, answer, data.language, data.order_index)


async def create_faq(session: AsyncSession, *, data: FaqInput, actor_id: int | None) -> FaqEntry:
    clean = validate_faq(data)
    order = clean.order_index
    if order is None:
        last = await session.scalar(
            select(func.max(FaqEntry.order_index)).where(FaqEntry.language == clean.language)
        )
        order = int(last or 0) + 10
    entry = FaqEntry(
        category=clean.category,
        question=clean.question,
        answer=clean.answer,
        language=clean.language,
        order_index=order,
    )
    session.add(entry)
    await session.flush()
    await _reindex(session, entry.id)
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="faq",
        entity_id=entry.id,
        action="create",
        details={"question": entry.question, "category": entry.category},
    )
    return entry


async def get_faq(session: AsyncSession, *, faq_id: int) -> FaqEntry:
    entry = await session.get(FaqEntry, faq_id)
    if entry is None:
        raise NotFound(lazy("No such FAQ entry"))
    return entry


async def update_faq(
    session: AsyncSession, *, faq_id: int, data: FaqInput, actor_id: int | None
) -> FaqEntry:
    entry = await get_faq(session, faq_id=faq_id)
    clean = validate_faq(data)
    changes: dict[str, list[object]] = {}
    for name in ("category", "question", "answer", "language", "order_index"):
        new = getattr(clean, name)
        if new is None:
            continue
        if getattr(entry, name) != new:
            changes[name] = [getattr(entry, name), new]
            setattr(entry, name, new)
    if changes:
        entry.updated_at = utcnow()
        await session.flush()
        if changes.keys() & {"question", "language"}:
            await _reindex(session, entry.id)
        await auditlog.audit(
            session,
            actor_id=actor_id,
            entity="faq",
            entity_id=entry.id,
            action="update",
            details={k: v for k, v in changes.items() if k not in ("answer",)}
            | ({"answer": "changed"} if "answer" in changes else {}),
        )
    return entry


async def delete_faq(session: AsyncSession, *, faq_id: int, actor_id: int | None) -> None:
    entry = await get_faq(session, faq_id=faq_id)
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="faq",
        entity_id=entry.id,
        action="delete",
        details={"question": entry.question, "category": entry.category},
    )
    await session.delete(entry)
    await session.flush()
    await _reindex(session, faq_id)


async def move_faq(
    session: AsyncSession, *, faq_id: int, direction: int, actor_id: int | None
) -> FaqEntry:
    """Swap an entry with its neighbour (same language) as the pages show them (grouped
    by category); everything is renumbered in that order, so it stays what is shown."""
    entry = await get_faq(session, faq_id=faq_id)
    ordered = display_order(
        list(
            (
                await session.execute(
                    select(FaqEntry)
                    .where(FaqEntry.language == entry.language)
                    .order_by(FaqEntry.order_index, FaqEntry.id)
                )
            ).scalars()
        )
    )
    pos = next(i for i, e in enumerate(ordered) if e.id == entry.id)
    other_pos = pos + (1 if direction > 0 else -1)
    if not 0 <= other_pos < len(ordered):
        return entry
    ordered[pos], ordered[other_pos] = ordered[other_pos], ordered[pos]
    for index, item in enumerate(ordered):  # renumber: ties and gaps disappear
        if item.order_index != (index + 1) * 10:
            item.order_index = (index + 1) * 10
    await session.flush()
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="faq",
        entity_id=entry.id,
        action="move",
        details={"direction": "down" if direction > 0 else "up"},
    )
    return entry


async def reorder_faq(
    session: AsyncSession, *, language: str, ids: list[int], actor_id: int | None
) -> list[FaqEntry]:
    """Put the entries ``ids`` (of ``language``) first, in this order; the others follow
    in their present order. Renumbers ``order_index`` 10, 20, … Returns the new order."""
    if language not in ("ru", "en"):
        raise Invalid(
            lazy("Choose Russian or English"),
            fields={"language": lazy("Choose Russian or English")},
        )
    if len(set(ids)) != len(ids) or len(ids) > 10_000:
        raise Invalid(lazy("Each entry once"), fields={"ids": lazy("Each entry once")})
    ordered = list(
        (
            await session.execute(
                select(FaqEntry)
                .where(FaqEntry.language == language)
                .order_by(FaqEntry.order_index, FaqEntry.id)
                .with_for_update()
            )
        ).scalars()
    )
    by_id = {e.id: e for e in ordered}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise Invalid(
            lazy("No such FAQ entry in this language"),
            fields={"ids": lazy("No such FAQ entry in this language")},
        )
    listed = set(ids)
    new = [by_id[i] for i in ids] + [e for e in ordered if e.id not in listed]
    for index, entry in enumerate(new):
        if entry.order_index != (index + 1) * 10:
            entry.order_index = (index + 1) * 10
    await session.flush()
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="faq",
        entity_id=None,
        action="reorder",
        details={"language": language, "ids": ids[:100]},
    )
    return new


async def faq_category_summary(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(language, category, entries) for the admin page, in display order."""
    rows = await session.execute(
        select(FaqEntry.language, FaqEntry.category, func.count(), func.min(FaqEntry.order_index))
        .group_by(FaqEntry.language, FaqEntry.category)
        .order_by(FaqEntry.language, func.min(FaqEntry.order_index))
    )
    return [(lang, cat, int(n)) for lang, cat, n, _o in rows]


async def rename_category(
    session: AsyncSession, *, language: str, old: str, new: str, actor_id: int | None
) -> int:
    """Rename a category (all its entries); returns how many entries moved."""
    new = " ".join((new or "").split())
    if not new or len(new) > CATEGORY_MAX:
        msg = lazy("This field is required") if not new else lazy("At most 100 characters")
        raise Invalid(msg, fields={"new": msg})
    result = await session.execute(
        update(FaqEntry)
        .where(FaqEntry.language == language, FaqEntry.category == old)
        .values(category=new, updated_at=utcnow())
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if not count:
        raise NotFound(lazy("No such category"))
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="faq_category",
        entity_id=None,
        action="rename",
        details={"language": language, "old": old, "new": new, "entries": count},
    )
    return count


async def delete_category(
    session: AsyncSession, *, language: str, category: str, actor_id: int | None
) -> int:
    """Delete a category with all its entries; returns how many were deleted."""
    result = await session.execute(
        delete(FaqEntry).where(FaqEntry.language == language, FaqEntry.category == category)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if not count:
        raise NotFound(lazy("No such category"))
    await _reindex(session)
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="faq_category",
        entity_id=None,
        action="delete",
        details={"language": language, "category": category, "entries": count},
    )
    return count
