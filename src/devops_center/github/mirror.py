"""The local copy of the repository's issues (``github_issues``): writes and counts.

Pages and bot commands read only this table; the sync job and webhooks write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.github.models import BODY_KEPT, GithubIssue
from devops_center.integrations.github.events import IssueData
from devops_center.outbox import messages
from devops_center.outbox import service as outbox


@dataclass(frozen=True)
class Upsert:
    """What an upsert did: the row, the state before (None when new), whether it applied."""

    issue: GithubIssue
    previous_state: str | None
    applied: bool

    @property
    def state_changed(self) -> bool:
        return self.applied and self.previous_state not in (None, self.issue.state)


def _values(data: IssueData) -> dict[str, object]:
    return {
        "title": data.title,
        "state": data.state,
        "labels": list(data.labels),
        "is_bug": data.is_bug,
        "is_critical": data.is_critical,
        "assignee": data.assignee,
        "url": data.url,
        "body": data.body[:BODY_KEPT] if data.body else None,
        "gh_created_at": data.created_at,
        "gh_updated_at": data.updated_at,
        "gh_closed_at": data.closed_at,
        "synced_at": utcnow(),
    }


async def _get(session: AsyncSession, repo: str, number: int, *, lock: bool) -> GithubIssue | None:
    stmt = select(GithubIssue).where(GithubIssue.repo == repo, GithubIssue.number == number)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_issue(session: AsyncSession, data: IssueData) -> Upsert:
    """Insert or update one issue. An older copy (``updated_at`` before ours) is ignored,
    so a late webhook or a slow sync never rolls the mirror back."""
    row = await _get(session, data.repo, data.number, lock=True)
    if row is None:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await session.execute(
            insert(GithubIssue)
            .values(repo=data.repo, number=data.number, bug_id=data.bug_id, **_values(data))
            .on_conflict_do_nothing(index_elements=["repo", "number"])
        )
        row = await _get(session, data.repo, data.number, lock=True)
        assert row is not None
        await session.refresh(row)
        await _weigh(session, row)
        return Upsert(issue=row, previous_state=None, applied=True)
    previous = row.state
    if (
        data.updated_at is not None
        and row.gh_updated_at is not None
        and data.updated_at < row.gh_updated_at
    ):
        return Upsert(issue=row, previous_state=previous, applied=False)
    body = row.body
    for key, value in _values(data).items():
        setattr(row, key, value)
    if data.bug_id is not None:
        row.bug_id = data.bug_id
    await session.flush()
    if row.body != body:
        await _weigh(session, row)
    return Upsert(issue=row, previous_state=previous, applied=True)


async def _weigh(session: AsyncSession, row: GithubIssue) -> None:
    """A new issue, or a new body: its weight from links (``changelog.weights``)."""
    await outbox.enqueue(session, messages.RescoreImpact(repo=row.repo, issue=row.number))


async def get_issue(session: AsyncSession, *, repo: str, number: int) -> GithubIssue | None:
    return await _get(session, repo, number, lock=False)


async def open_numbers(session: AsyncSession, *, repo: str) -> set[int]:
    rows = await session.execute(
        select(GithubIssue.number).where(GithubIssue.repo == repo, GithubIssue.state == "open")
    )
    return {int(n) for n in rows.scalars()}


async def delete_issue(session: AsyncSession, *, repo: str, number: int) -> None:
    await session.execute(
        delete(GithubIssue).where(GithubIssue.repo == repo, GithubIssue.number == number)
    )


@dataclass(frozen=True)
class IssueCounts:
    open: int = 0
    closed: int = 0
    open_bugs: int = 0
    open_critical: int = 0
    by_label: dict[str, int] = field(default_factory=dict)  # open issues per label

    @property
    def total(self) -> int:
        return self.open + self.closed


async def issue_counts(session: AsyncSession, *, repo: str | None = None) -> IssueCounts:
    """Open/closed counts, open bugs, open critical and open issues per label (all in SQL).

    The one function behind the dashboard panel, ``/devops`` and the digest.
    """
    cond = [GithubIssue.repo == repo] if repo else []
    open_ = GithubIssue.state == "open"
    row = (
        await session.execute(
            select(
                func.count().filter(open_),
                func.count().filter(GithubIssue.state == "closed"),
                func.count().filter(open_ & GithubIssue.is_bug),
                func.count().filter(open_ & GithubIssue.is_critical),
            ).where(*cond)
        )
    ).one()
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            "SELECT l.value AS label, count(*) AS n FROM github_issues g, "
            "json_array_elements_text(g.labels) AS l(value) WHERE g.state = 'open'"
        )
    else:
        sql = (
            "SELECT l.value AS label, count(*) AS n FROM github_issues g, "
            "json_each(g.labels) AS l WHERE g.state = 'open'"
        )
    params: dict[str, object] = {}
    if repo:
        sql += " AND g.repo = :repo"
        params["repo"] = repo
    sql += " GROUP BY l.value ORDER BY n DESC, l.value"
    labels = {str(label): int(n) for label, n in await session.execute(text(sql), params)}
    return IssueCounts(
        open=int(row[0]),
        closed=int(row[1]),
        open_bugs=int(row[2]),
        open_critical=int(row[3]),
        by_label=labels,
    )


SORTS = ("newest", "impact")


async def newest_open(
    session: AsyncSession,
    *,
    repo: str | None = None,
    limit: int = 10,
    bugs_only: bool = False,
    sort: str = "newest",
) -> list[GithubIssue]:
    """Open issues, the newest first; ``sort="impact"``: the highest impact score first
    (unscored last, then the newest)."""
    stmt = select(GithubIssue).where(GithubIssue.state == "open")
    if repo:
        stmt = stmt.where(GithubIssue.repo == repo)
    if bugs_only:
        stmt = stmt.where(GithubIssue.is_bug)
    order: list[Any] = [GithubIssue.gh_created_at.desc(), GithubIssue.number.desc()]
    if sort == "impact":
        order.insert(0, GithubIssue.impact_score.desc().nulls_last())
    stmt = stmt.order_by(*order).limit(limit)
    return list((await session.execute(stmt)).scalars())
