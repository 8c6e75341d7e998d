"""Pull requests (``pull_requests``, ``pull_request_files``): from the ``pull_request`` and
``pull_request_review`` webhooks, the periodic sync (for deliveries that never came) and
a details job per head commit (the commits, reviews and changed files, from the REST API).

Idempotent by content: an upsert keeps the newest copy (GitHub's ``updated_at``), review
times only move earlier, the files are replaced as a whole; a redelivery, whatever its
id, changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.github import gateway
from devops_center.github.models import PullRequest, PullRequestFile
from devops_center.integrations.github import pulls as api
from devops_center.integrations.github.client import MAX_PAGES, GithubPermanent, GithubRetryable
from devops_center.integrations.github.events import MalformedEvent
from devops_center.integrations.github.pulls import (
    FileData,
    PullData,
    ReviewData,
    parse_files,
    parse_pull,
    parse_review,
)
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.registry import JobContext, RetryLater

log = logging.getLogger("devops_center.github")

SYNC_OVERLAP = timedelta(minutes=5)  # the sync looks this far behind its watermark
FIRST_SYNC_PAGES = 5  # a first sync reads the 500 most recently updated pull requests


@dataclass(frozen=True)
class PullUpsert:
    pull: PullRequest
    previous_state: str | None  # None when new
    applied: bool  # False: an older copy than the stored one, ignored


def _values(data: PullData) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": data.title,
        "body": data.body,
        "state": data.state,
        "draft": data.draft,
        "labels": list(data.labels),
        "closes": data.closes,
        "updated_at": data.updated_at,
        "closed_at": data.closed_at,
        "merged_at": data.merged_at,
        "merge_commit_sha": data.merge_commit_sha,
    }
    optional = {
        "author_login": data.author_login,
        "base_ref": data.base_ref,
        "head_ref": data.head_ref,
        "head_sha": data.head_sha,
        "additions": data.additions,
        "deletions": data.deletions,
        "changed_files": data.changed_files,
        "url": data.url,
        "opened_at": data.opened_at,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    return values


async def get_pull(
    session: AsyncSession, *, repo: str, number: int, lock: bool = False
) -> PullRequest | None:
    stmt = select(PullRequest).where(PullRequest.repo == repo, PullRequest.number == number)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_pull(session: AsyncSession, data: PullData) -> PullUpsert:
    """Insert or update one pull request; an older copy than the stored one is ignored."""
    row = await get_pull(session, repo=data.repo, number=data.number, lock=True)
    if row is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(PullRequest)
            .values(repo=data.repo, number=data.number, synced_at=utcnow(), **_values(data))
            .on_conflict_do_nothing(index_elements=["repo", "number"])
        )
        row = await get_pull(session, repo=data.repo, number=data.number, lock=True)
        assert row is not None
        await session.refresh(row)
        return PullUpsert(pull=row, previous_state=None, applied=True)
    previous = row.state
    stale = data.updated_at is not None and row.updated_at is not None
    if stale and data.updated_at < row.updated_at:  # type: ignore[operator]
        return PullUpsert(pull=row, previous_state=previous, applied=False)
    for key, value in _values(data).items():
        if getattr(row, key) != value:
            setattr(row, key, value)
    await session.flush()
    return PullUpsert(pull=row, previous_state=previous, applied=True)


def apply_reviews(pull: PullRequest, reviews: list[ReviewData]) -> None:
    """First review and first approval by someone else than the author (times only move
    earlier, so a replay or an out-of-order delivery changes nothing)."""
    for review in reviews:
        when = review.submitted_at
        if when is None or review.state == "pending":
            continue
        if review.reviewer is not None and review.reviewer == pull.author_login:
            continue
        if pull.first_review_at is None or when < pull.first_review_at:
            pull.first_review_at = when
        if review.state == "approved" and (pull.approved_at is None or when < pull.approved_at):
            pull.approved_at = when


async def replace_files(session: AsyncSession, pull: PullRequest, files: list[FileData]) -> None:
    await session.execute(delete(PullRequestFile).where(PullRequestFile.pull_request_id == pull.id))
    for f in files:
        session.add(
            PullRequestFile(
                pull_request_id=pull.id,
                path=f.path,
                status=f.status,
                additions=f.additions,
                deletions=f.deletions,
            )
        )
    await session.flush()


async def files_of(session: AsyncSession, pull_id: int) -> list[PullRequestFile]:
    rows = await session.execute(
        select(PullRequestFile)
        .where(PullRequestFile.pull_request_id == pull_id)
        .order_by(PullRequestFile.path)
    )
    return list(rows.scalars())


def details_key(pull: PullRequest) -> str:
    return (
        f"{messages.FetchPullRequestDetails.kind}:{pull.repo}#{pull.number}"
        f"@{pull.head_sha or '-'}:{pull.state}"
    )


async def want_details(session: AsyncSession, pull: PullRequest) -> None:
    """Queue the details job once per head commit and state (a replay queues nothing)."""
    if pull.state == "closed":
        return  # closed without merging: nothing more to learn
    await outbox.enqueue(
        session,
        messages.FetchPullRequestDetails(number=pull.number),
        unique_key=details_key(pull),
        max_attempts=20,
    )


async def record(session: AsyncSession, settings: Settings, data: PullData) -> PullUpsert:
    result = await upsert_pull(session, data)
    ours = gateway.same_repo(settings, data.repo) and settings.github_enabled().enabled
    if result.applied and ours:
        await want_details(session, result.pull)
    return result


# ------------------------------------------------------------------ webhooks


async def handle_pull_request(session: AsyncSession, settings: Settings, payload: Any) -> None:
    repo = api.repo_of_payload(payload)
    if not gateway.same_repo(settings, repo):
        return
    await record(session, settings, parse_pull(payload.get("pull_request"), repo=repo))


async def handle_review(session: AsyncSession, settings: Settings, payload: Any) -> None:
    """``pull_request_review``: the review times (the pull request's copy in this event
    lacks the counts; the row is created from it if the PR was never seen)."""
    repo = api.repo_of_payload(payload)
    if not gateway.same_repo(settings, repo):
        return
    data = parse_pull(payload.get("pull_request"), repo=repo)
    pull = await get_pull(session, repo=repo, number=data.number, lock=True)
    if pull is None:
        pull = (await record(session, settings, data)).pull
    if payload.get("action") == "dismissed":
        return  # a dismissed review still happened: its time stays
    apply_reviews(pull, [parse_review(payload.get("review"))])
    await session.flush()


# ------------------------------------------------------------------ details job


async def fetch_details(ctx: JobContext, number: int) -> None:
    """The full pull request, its commits (first commit time), reviews and changed files,
    stored in one transaction; a merged one then goes to the changelog."""
    settings = ctx.settings
    if not settings.github_enabled().enabled:
        return
    repo = gateway.repo_of(settings)
    async with ctx.sessionmaker() as session:
        gateway.check_pause(await gateway.paused_until(session, settings))
    try:
        async with gateway.client(settings) as gh:
            raw = await api.get_pull(gh, number)
            if raw is None:
                return
            commits = await api.pull_commits(gh, number)
            reviews = await api.pull_reviews(gh, number)
            files = await api.pull_files(gh, number)
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc
    data = parse_pull(raw, repo=repo)
    async with ctx.sessionmaker() as session, session.begin():
        result = await upsert_pull(session, data)
        pull = result.pull
        first = api.first_commit_time(commits)
        if first is not None and (pull.first_commit_at is None or first < pull.first_commit_at):
            pull.first_commit_at = first
        parsed_reviews = []
        for item in reviews:
            try:
                parsed_reviews.append(parse_review(item))
            except MalformedEvent:
                continue
        apply_reviews(pull, parsed_reviews)
        await replace_files(session, pull, parse_files(files))
        pull.details_sha = data.head_sha
        # Scored (and, merged, journaled) above this package, from what is stored now;
        # keyed like the details so a replay of the same state queues nothing.
        await outbox.enqueue(
            session,
            messages.ChangelogFromPull(number=pull.number),
            unique_key=f"{messages.ChangelogFromPull.kind}:{pull.repo}#{pull.number}"
            f"@{pull.details_sha or '-'}:{pull.state}",
            max_attempts=10,
        )


# ------------------------------------------------------------------------ sync


async def sync_pulls(ctx: JobContext) -> int:
    """Pull requests updated since the last sync (webhooks that never came): stored, and
    their details queued. Returns how many were listed."""
    settings = ctx.settings
    if not settings.github_enabled().enabled:
        return 0
    repo = gateway.repo_of(settings)
    async with ctx.sessionmaker() as session:
        state = await gateway.state(session, repo)
    since: datetime | None = state.pulls_seen_until if state is not None else None
    try:
        gateway.check_pause(state.paused_until if state is not None else None)
    except RetryLater:
        return 0
    try:
        async with gateway.client(settings) as gh:
            items = await api.pulls_updated_since(
                gh,
                since - SYNC_OVERLAP if since else None,
                max_pages=MAX_PAGES if since else FIRST_SYNC_PAGES,
            )
    except (GithubRetryable, GithubPermanent) as exc:
        await gateway.failed(ctx, exc)
        log.warning("pull request sync failed: %s", exc.message)
        return 0
    newest = since
    async with ctx.sessionmaker() as session, session.begin():
        for item in items:
            try:
                data = parse_pull(item, repo=repo)
            except MalformedEvent as exc:
                log.warning("sync: skipping a malformed pull request: %s", exc)
                continue
            await record(session, settings, data)
            if data.updated_at is not None and (newest is None or data.updated_at > newest):
                newest = data.updated_at
        if newest is not None and newest != since:
            await gateway.update_state(session, repo, pulls_seen_until=newest)
    return len(items)
