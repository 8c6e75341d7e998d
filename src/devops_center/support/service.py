"""Bug reports and the FAQ: the rules both the web and the bot call.

The caller owns the transaction (DESIGN.md rule 2): a bug and its outbox job are added
in the caller's session and commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound, RateLimited
from devops_center.i18n import lazy
from devops_center.incidents import service as incidents
from devops_center.outbox import service as outbox
from devops_center.support import search as faq_search
from devops_center.support.models import PRIORITIES, STATUSES, BugLog, FaqEntry, FaqVote
from devops_center.users import service as users
from devops_center.users.models import AuditLog, User

TITLE_MIN, TITLE_MAX = 3, 200
TEXT_MAX = 10_000

# Job kinds written with a bug (the GitHub issue) and on changes (notifications).
JOB_CREATE_GITHUB_ISSUE = "github.create_issue"


@dataclass(frozen=True)
class BugInput:
    title: str
    what_doing: str
    expected: str
    actual: str
    priority: str = "medium"


def validate_bug(data: BugInput) -> BugInput:
    """Trimmed input, or Invalid with every field's error (msgids)."""
    errors: dict[str, str] = {}
    title = (data.title or "").strip()
    if len(title) < TITLE_MIN:
        errors["title"] = lazy("The title needs at least 3 characters")
    elif len(title) > TITLE_MAX:
        errors["title"] = lazy("The title may have at most 200 characters")
    texts = {}
    for name in ("what_doing", "expected", "actual"):
        value = (getattr(data, name) or "").strip()
        if not value:
            errors[name] = lazy("This field is required")
        elif len(value) > TEXT_MAX:
            errors[name] = lazy("At most 10,000 characters")
        texts[name] = value
    priority = (data.priority or "medium").strip().lower()
    if priority not in PRIORITIES:
        errors["priority"] = lazy("Choose critical, high, medium or low")
    if errors:
        raise Invalid(lazy("Please correct the marked fields"), fields=errors)
    return BugInput(title=title, priority=priority, **texts)


async def check_bug_rate_limit(session: AsyncSession, *, user_id: int, per_hour: int) -> None:
    """RateLimited when the user filed ``per_hour`` reports in the last hour (web and bot)."""
    since = utcnow() - timedelta(hours=1)
    count = await session.scalar(
        select(func.count()).where(BugLog.user_id == user_id, BugLog.created_at >= since)
    )
    if (count or 0) >= per_hour:
        raise RateLimited(
            lazy("You have sent %(n)s reports in the last hour. Please wait a little."),
            retry_after=600,
            n=per_hour,
        )


async def file_bug(
    session: AsyncSession,
    *,
    user_id: int,
    data: BugInput,
    source: str = "web",
    screenshot_key: str | None = None,
    client_token: str | None = None,
    rate_limit_per_hour: int = 10,
) -> BugLog:
    """Validate, rate-limit and save a bug with its GitHub outbox job (one transaction).

    ``client_token`` makes a double submit idempotent: the same token returns the bug
    already filed instead of a second one.
    """
    if client_token:
        existing = await session.scalar(select(BugLog).where(BugLog.client_token == client_token))
        if existing is not None:
            if existing.user_id == user_id:
                return existing
            client_token = None  # someone else's token: never reveal or reuse their bug
    clean = validate_bug(data)
    await check_bug_rate_limit(session, user_id=user_id, per_hour=rate_limit_per_hour)
    bug = BugLog(
        user_id=user_id,
        title=clean.title,
        what_doing=clean.what_doing,
        expected=clean.expected,
        actual=clean.actual,
        priority=clean.priority,
        status="open",
        source=source,
        screenshot_key=screenshot_key,
        client_token=client_token,
    )
    session.add(bug)
    await session.flush()
    if screenshot_key:
        bug.screenshot_url = f"/support/bugs/{bug.id}/screenshot"
    await outbox.enqueue(
        session,
        kind=JOB_CREATE_GITHUB_ISSUE,
        payload={"bug_id": bug.id},
        unique_key=f"github.create_issue:{bug.id}",
        max_attempts=50,
    )
    if bug.priority == "critical":
        await incidents.open_incident(
            session,
            source="bug",
            source_ref=str(bug.id),
            title=f"Critical bug #{bug.id}: {bug.title}",
            bug_id=bug.id,
            severity="critical",
        )
        await outbox.enqueue(
            session,
            kind="notify.admin",
            payload={"event": "critical_bug", "bug_id": bug.id},
            unique_key=f"notify.admin:critical_bug:{bug.id}",
        )
    return bug


async def find_by_client_token(
    session: AsyncSession, *, user_id: int, client_token: str
) -> BugLog | None:
    """The user's bug filed with this form token (a double submit), if any."""
    return await session.scalar(
        select(BugLog).where(BugLog.client_token == client_token, BugLog.user_id == user_id)
    )


async def get_bug(session: AsyncSession, *, bug_id: int) -> BugLog:
    bug = await session.get(BugLog, bug_id)
    if bug is None:
        raise NotFound(lazy("No such bug report"))
    return bug


async def get_bug_for(session: AsyncSession, *, bug_id: int, viewer: User) -> BugLog:
    """The bug if ``viewer`` is its reporter or an admin; NotFound otherwise (never 403)."""
    bug = await session.get(BugLog, bug_id)
    if bug is None or (bug.user_id != viewer.id and not users.is_admin(viewer)):
        raise NotFound(lazy("No such bug report"))
    return bug


async def my_bugs(
    session: AsyncSession, *, user_id: int, offset: int = 0, limit: int = 20
) -> tuple[list[BugLog], int]:
    """The user's own bugs, newest first, and their total count."""
    total = await session.scalar(select(func.count()).where(BugLog.user_id == user_id))
    rows = await session.execute(
        select(BugLog)
        .where(BugLog.user_id == user_id)
        .order_by(BugLog.created_at.desc(), BugLog.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), int(total or 0)


async def bug_counts_by_status(
    session: AsyncSession, *, user_id: int | None = None
) -> dict[str, int]:
    stmt = select(BugLog.status, func.count()).group_by(BugLog.status)
    if user_id is not None:
        stmt = stmt.where(BugLog.user_id == user_id)
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in await session.execute(stmt)})
    return counts


async def critical_open_bugs(session: AsyncSession, *, limit: int = 10) -> tuple[list[BugLog], int]:
    """Open or in-progress critical bugs (newest first) and how many there are."""
    cond = (BugLog.priority == "critical") & BugLog.status.in_(["open", "in_progress"])
    total = await session.scalar(select(func.count()).where(cond))
    rows = await session.execute(
        select(BugLog).where(cond).order_by(BugLog.created_at.desc()).limit(limit)
    )
    return list(rows.scalars()), int(total or 0)


async def update_bug(
    session: AsyncSession,
    *,
    bug_id: int,
    actor_id: int | None,
    status: str | None = None,
    priority: str | None = None,
    assigned_to: int | None = None,
    set_assignee: bool = False,
    source: str = "admin",
) -> BugLog:
    """Change status / priority / assignee; records who and when; tells the reporter.

    Resolving sets ``resolved_at``; reopening clears it. The assignee changes only with
    ``set_assignee=True`` (then ``assigned_to=None`` unassigns).
    """
    # Validate everything before changing anything: a refused change leaves no trace.
    if status is not None and status not in STATUSES:
        raise Invalid(lazy("Unknown status"), fields={"status": lazy("Unknown status")})
    if priority is not None and priority not in PRIORITIES:
        raise Invalid(lazy("Unknown priority"), fields={"priority": lazy("Unknown priority")})
    bug = await get_bug(session, bug_id=bug_id)
    changes: dict[str, list[object]] = {}
    if status is not None and status != bug.status:
        changes["status"] = [bug.status, status]
        bug.status = status
        if status in ("resolved", "closed"):
            bug.resolved_at = bug.resolved_at or utcnow()
        else:
            bug.resolved_at = None
    if priority is not None and priority != bug.priority:
        changes["priority"] = [bug.priority, priority]
        bug.priority = priority
    if set_assignee and assigned_to is not None:
        await users.get_user(session, user_id=assigned_to)  # NotFound before any change
    if set_assignee and assigned_to != bug.assigned_to:
        changes["assigned_to"] = [bug.assigned_to, assigned_to]
        bug.assigned_to = assigned_to
    if not changes:
        return bug
    bug.updated_at = utcnow()
    await users.audit(
        session,
        actor_id=actor_id,
        entity="bug",
        entity_id=bug.id,
        action="update",
        details={**changes, "via": source},
    )
    if "status" in changes:
        old, new = changes["status"]
        await outbox.enqueue(
            session,
            kind="notify.user",
            payload={
                "user_id": bug.user_id,
                "event": "bug_status",
                "bug_id": bug.id,
                "old": old,
                "new": new,
            },
        )
        if bug.priority == "critical" or changes.get("priority", [None])[0] == "critical":
            if new in ("resolved", "closed"):
                await incidents.resolve_by_source(session, source="bug", source_ref=str(bug.id))
            elif old in ("resolved", "closed"):
                await incidents.open_incident(
                    session,
                    source="bug",
                    source_ref=str(bug.id),
                    title=f"Critical bug #{bug.id}: {bug.title}",
                    bug_id=bug.id,
                    severity="critical",
                )
    return bug


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


async def faq_entries(
    session: AsyncSession, *, language: str, category: str | None = None
) -> list[FaqEntry]:
    stmt = select(FaqEntry).where(FaqEntry.language == language)
    if category:
        stmt = stmt.where(FaqEntry.category == category)
    return list((await session.execute(stmt.order_by(FaqEntry.order_index, FaqEntry.id))).scalars())


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


# ------------------------------------------------------------------- admin: bug triage


@dataclass(frozen=True)
class BugFilter:
    status: str | None = None
    priority: str | None = None
    assignee: int | None = None  # a user id; 0 = unassigned
    text: str | None = None


async def list_bugs(
    session: AsyncSession, *, filters: BugFilter, offset: int = 0, limit: int = 50
) -> tuple[list[BugLog], int]:
    """Every bug matching the filters (admin triage), newest first, and their count."""
    conds: list[Any] = []
    if filters.status in STATUSES:
        conds.append(BugLog.status == filters.status)
    if filters.priority in PRIORITIES:
        conds.append(BugLog.priority == filters.priority)
    if filters.assignee == 0:
        conds.append(BugLog.assigned_to.is_(None))
    elif filters.assignee is not None:
        conds.append(BugLog.assigned_to == filters.assignee)
    text = (filters.text or "").strip()[:200]
    if text:
        if text.lstrip("#").isdigit():
            conds.append(
                or_(
                    BugLog.id == int(text.lstrip("#")),
                    BugLog.github_issue_number == int(text.lstrip("#")),
                )
            )
        else:
            pattern = "%" + text.lower().replace("\\", "").replace("%", "").replace("_", " ") + "%"
            pattern = pattern.replace(" ", "%")
            conds.append(
                or_(
                    func.lower(BugLog.title).like(pattern),
                    func.lower(BugLog.actual).like(pattern),
                    func.lower(BugLog.what_doing).like(pattern),
                )
            )
    total = await session.scalar(select(func.count()).select_from(BugLog).where(*conds))
    rows = await session.execute(
        select(BugLog)
        .where(*conds)
        .order_by(BugLog.created_at.desc(), BugLog.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), int(total or 0)


async def bug_history(session: AsyncSession, *, bug_id: int) -> list[AuditLog]:
    return await users.history(session, entity="bug", entity_id=bug_id)


# ---------------------------------------------------------------------- admin: FAQ


@dataclass(frozen=True)
class FaqInput:
    category: str
    question: str
    answer: str
    language: str = "en"
    order_index: int | None = None


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
    await users.audit(
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
        await users.audit(
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
    await users.audit(
        session,
        actor_id=actor_id,
        entity="faq",
        entity_id=entry.id,
        action="delete",
        details={"question": entry.question, "category": entry.category},
    )
    await session.delete(entry)
    await session.flush()


async def move_faq(
    session: AsyncSession, *, faq_id: int, direction: int, actor_id: int | None
) -> FaqEntry:
    """Swap an entry with its neighbour (same language) in ``order_index`` order."""
    entry = await get_faq(session, faq_id=faq_id)
    ordered = list(
        (
            await session.execute(
                select(FaqEntry)
                .where(FaqEntry.language == entry.language)
                .order_by(FaqEntry.order_index, FaqEntry.id)
            )
        ).scalars()
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
    await users.audit(
        session,
        actor_id=actor_id,
        entity="faq",
        entity_id=entry.id,
        action="move",
        details={"direction": "down" if direction > 0 else "up"},
    )
    return entry


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
    await users.audit(
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
    await users.audit(
        session,
        actor_id=actor_id,
        entity="faq_category",
        entity_id=None,
        action="delete",
        details={"language": language, "category": category, "entries": count},
    )
    return count


# ------------------------------------------------------------------ GitHub issue link


async def link_github_issue(session: AsyncSession, *, bug_id: int, issue_number: int) -> bool:
    """Record the bug's GitHub issue once. False if the bug is gone or already linked."""
    bug = await session.get(BugLog, bug_id, with_for_update=True)
    if bug is None or bug.github_issue_number is not None:
        return False
    bug.github_issue_number = issue_number
    bug.updated_at = utcnow()
    return True


async def bug_for_github_issue(
    session: AsyncSession, *, issue_number: int, marker_bug_id: int | None = None
) -> BugLog | None:
    """The bug linked to an issue: by its stored number, else by the issue's hidden marker."""
    bug = await session.scalar(
        select(BugLog).where(BugLog.github_issue_number == issue_number).limit(1)
    )
    if bug is None and marker_bug_id is not None:
        candidate = await session.get(BugLog, marker_bug_id)
        if candidate is not None and candidate.github_issue_number in (None, issue_number):
            bug = candidate
    return bug


async def bug_counts_by_status_priority(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Bugs by (status, priority), every pair present (zeros included): for Prometheus."""
    stmt = select(BugLog.status, BugLog.priority, func.count()).group_by(
        BugLog.status, BugLog.priority
    )
    counts = {(s, p): 0 for s in STATUSES for p in PRIORITIES}
    counts.update({(s, p): int(n) for s, p, n in await session.execute(stmt)})
    return counts


async def bug_by_client_token(session: AsyncSession, *, client_token: str) -> BugLog | None:
    """The bug filed with this idempotency token, if any (the bot's double-tapped Submit)."""
    return await session.scalar(select(BugLog).where(BugLog.client_token == client_token))
