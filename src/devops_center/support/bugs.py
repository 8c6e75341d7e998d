"""Bug reports: the rules the web, the bot and the API call (filing, triage, reading).

The caller owns the transaction: a bug and its outbox jobs are added in the caller's
session and commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound, RateLimited
from devops_center.i18n import lazy
from devops_center.incidents import service as incidents
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.support import comments
from devops_center.support.models import PRIORITIES, STATUSES, BugFollower, BugLog
from devops_center.users import auditlog
from devops_center.users import service as users
from devops_center.users.models import AuditLog, User

TITLE_MIN, TITLE_MAX = 3, 200
TEXT_MAX = 10_000


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


async def screenshot_stored(session: AsyncSession, bug: BugLog) -> None:
    """A screenshot was stored after the bug's issue was opened without it (a photo sent
    to the bot is downloaded by the worker, maybe after the issue job ran): have it added
    to the issue as a comment. Called with the bug row locked, so that of this and the
    issue job, whichever commits second sees the other's change."""
    if bug.github_issue_number is not None and bug.screenshot_url:
        await outbox.enqueue(
            session,
            messages.AddGithubScreenshot(bug_id=bug.id),
            unique_key=f"{messages.AddGithubScreenshot.kind}:{bug.id}",
        )


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
    # the bugs and their count in one statement (the count a subquery run once, by the
    # status/priority index, not a window over every matching row)
    total_of = select(func.count()).select_from(BugLog).where(cond).scalar_subquery()
    rows = (
        await session.execute(
            select(BugLog, total_of).where(cond).order_by(BugLog.created_at.desc()).limit(limit)
        )
    ).all()
    return [bug for bug, _total in rows], int(rows[0][1]) if rows else 0


async def open_critical_incident(session: AsyncSession, bug: BugLog) -> None:
    """A critical bug is an incident (time to restore) until it is resolved."""
    await incidents.open_for_bug(
        session, bug_id=bug.id, title=f"Critical bug #{bug.id}: {bug.title}"
    )


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
    notify: bool = True,
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
        assignee = await session.get(User, assigned_to)  # refused before any change
        if assignee is None or not assignee.is_active:
            message = lazy("No such active user")
            raise Invalid(message, fields={"assignee_id": message})
    if set_assignee and assigned_to != bug.assigned_to:
        changes["assigned_to"] = [bug.assigned_to, assigned_to]
        bug.assigned_to = assigned_to
    if not changes:
        return bug
    bug.updated_at = utcnow()
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="bug",
        entity_id=bug.id,
        action="update",
        details={**changes, "via": source},
    )
    if "status" in changes:
        old, new = changes["status"]
        if notify:
            await outbox.enqueue(
                session,
                messages.NotifyUser(
                    user_id=bug.user_id, event="bug_status", bug_id=bug.id, old=old, new=new
                ),
            )
        # the reporters of the duplicates merged into it follow it
        for follower in await session.scalars(
            select(BugFollower.user_id).where(BugFollower.bug_id == bug.id)
        ):
            await outbox.enqueue(
                session,
                messages.NotifyUser(
                    user_id=follower, event="followed_status", bug_id=bug.id, new=new
                ),
            )
        if bug.priority == "critical" or changes.get("priority", [None])[0] == "critical":
            if new in ("resolved", "closed"):
                await incidents.resolve_for_bug(session, bug_id=bug.id)
            elif old in ("resolved", "closed"):
                await open_critical_incident(session, bug)
    return bug


SUMMARY_MAX = 200


async def set_public_summary(
    session: AsyncSession, *, bug_id: int, summary: str, actor_id: int | None
) -> BugLog:
    """What other users may read about this bug (known issues); empty: none."""
    value = " ".join((summary or "").split())
    if len(value) > SUMMARY_MAX:
        message = lazy("At most 200 characters")
        raise Invalid(message, fields={"public_summary": message})
    bug = await get_bug(session, bug_id=bug_id)
    if (bug.public_summary or "") != value:
        await auditlog.audit(
            session,
            actor_id=actor_id,
            entity="bug",
            entity_id=bug.id,
            action="public_summary",
            details={"public_summary": [bug.public_summary, value or None]},
        )
        bug.public_summary = value or None
        await session.flush()
    return bug


async def close_own_bug(
    session: AsyncSession, *, bug_id: int, reporter_id: int, source: str
) -> BugLog:
    """The reporter closes their own bug (solved, or no longer needed): status closed,
    recorded on the timeline as theirs. A bug already resolved or closed stays as it is;
    NotFound for another reporter's bug."""
    bug = await session.get(BugLog, bug_id, with_for_update=True)
    if bug is None or bug.user_id != reporter_id:
        raise NotFound(lazy("No such bug report"))
    if bug.status in ("resolved", "closed"):
        return bug
    # They closed it themselves: no message telling them so.
    bug = await update_bug(
        session, bug_id=bug.id, actor_id=reporter_id, status="closed", source=source, notify=False
    )
    if bug.github_issue_number is not None:  # else when it is linked (link_github_issue)
        await _close_issue(session, bug.id)
    return bug


async def _close_issue(session: AsyncSession, bug_id: int) -> None:
    await outbox.enqueue(session, messages.CloseGithubIssueByReporter(bug_id=bug_id))


async def _closed_by_reporter(session: AsyncSession, bug: BugLog) -> bool:
    """Whether the bug is closed and its last status change was its reporter's."""
    if bug.status != "closed":
        return False
    for entry in reversed(await auditlog.history(session, entity="bug", entity_id=bug.id)):
        change = comments.status_change(entry) if entry.action == "update" else None
        if change is not None:
            return change.new == "closed" and entry.actor_id == bug.user_id
    return False


# ------------------------------------------------------------------- admin: bug triage


@dataclass(frozen=True)
class BugFilter:
    status: str | None = None
    priority: str | None = None
    assignee: int | None = None  # a user id; 0 = unassigned
    text: str | None = None
    reporter: int | None = None  # a user id
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


def _conditions(filters: BugFilter) -> list[Any]:
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
    if filters.reporter is not None:
        conds.append(BugLog.user_id == filters.reporter)
    if filters.created_from is not None:
        conds.append(BugLog.created_at >= filters.created_from)
    if filters.created_to is not None:
        conds.append(BugLog.created_at < filters.created_to)
    return conds


SORTS = ("newest", "impact")


async def list_bugs(
    session: AsyncSession,
    *,
    filters: BugFilter,
    offset: int = 0,
    limit: int = 50,
    sort: str = "newest",
) -> tuple[list[BugLog], int]:
    """Every bug matching the filters (admin triage) and their count: newest first, or
    with ``sort="impact"`` the highest impact score first (unscored last)."""
    conds = _conditions(filters)
    total = await session.scalar(select(func.count()).select_from(BugLog).where(*conds))
    order: tuple[Any, ...] = (BugLog.created_at.desc(), BugLog.id.desc())
    if sort == "impact":
        order = (BugLog.impact_score.desc().nulls_last(), *order)
    rows = await session.execute(
        select(BugLog).where(*conds).order_by(*order).offset(offset).limit(limit)
    )
    return list(rows.scalars()), int(total or 0)


async def bug_page(
    session: AsyncSession,
    *,
    filters: BugFilter,
    only_reporter: int | None,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> tuple[list[BugLog], tuple[datetime, int] | None]:
    """One page of bugs, newest first, after the position ``after`` (keyset paging: a
    bug filed meanwhile never shifts a page). With ``only_reporter`` only that user's
    bugs (a ``filters.reporter`` cannot widen that). Returns the page and the position of its
    last row when more may follow."""
    conds = _conditions(filters)
    if only_reporter is not None:
        conds.append(BugLog.user_id == only_reporter)
    if after is not None:
        at, last_id = after
        conds.append(
            or_(BugLog.created_at < at, and_(BugLog.created_at == at, BugLog.id < last_id))
        )
    rows = await session.execute(
        select(BugLog)
        .where(*conds)
        .order_by(BugLog.created_at.desc(), BugLog.id.desc())
        .limit(limit + 1)
    )
    bugs = list(rows.scalars())
    more = len(bugs) > limit
    bugs = bugs[:limit]
    return bugs, ((bugs[-1].created_at, bugs[-1].id) if more and bugs else None)


async def get_bug_as(session: AsyncSession, *, bug_id: int, only_reporter: int | None) -> BugLog:
    """The bug; with ``only_reporter``, only if that user reported it (NotFound
    otherwise, never 403: another's bug does not exist for them)."""
    bug = await session.get(BugLog, bug_id)
    if bug is None or (only_reporter is not None and bug.user_id != only_reporter):
        raise NotFound(lazy("No such bug report"))
    return bug


async def bug_history(session: AsyncSession, *, bug_id: int) -> list[AuditLog]:
    return await auditlog.history(session, entity="bug", entity_id=bug_id)


# ------------------------------------------------------------------ GitHub issue link


async def link_github_issue(session: AsyncSession, *, bug_id: int, issue_number: int) -> bool:
    """Record the bug's GitHub issue once. False if the bug is gone or already linked."""
    bug = await session.get(BugLog, bug_id, with_for_update=True)
    if bug is None or bug.github_issue_number is not None:
        return False
    bug.github_issue_number = issue_number
    bug.updated_at = utcnow()
    await comments.enqueue_unposted(session, bug_id=bug.id)
    if await _closed_by_reporter(session, bug):  # closed before its issue existed
        await _close_issue(session, bug.id)
    # pull requests may close the issue already: they weigh the bug (changelog.weights)
    await outbox.enqueue(session, messages.RescoreImpact(bug_id=bug.id))
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
