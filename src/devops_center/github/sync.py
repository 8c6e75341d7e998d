"""The mirror of the repository's open issues, kept fresh by a periodic sync (ETag:
an unchanged list costs one free 304), and bugs kept locally re-queued for GitHub."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.github import gateway, mirror
from devops_center.github.issues import apply_comment_to_bug, apply_issue_to_bug
from devops_center.integrations.github.client import GithubPermanent, GithubRetryable
from devops_center.integrations.github.events import (
    IssueData,
    MalformedEvent,
    parse_issue,
    parse_listed_comment,
)
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.outbox.registry import JobContext, RetryLater
from devops_center.support.models import BugLog

log = logging.getLogger("devops_center.github")

GONE_CHECK_LIMIT = 100  # issues that left the open list, looked up one by one per sync
BACKFILL_AFTER = timedelta(minutes=2)
BACKFILL_LIMIT = 100


async def sync_issues(ctx: JobContext) -> None:
    """Refresh the mirror of open issues (ETag: an unchanged list is one free 304), look up
    issues that left the list, reconcile linked bugs, and re-queue bugs kept locally."""
    settings = ctx.settings
    if not settings.github_enabled().enabled:
        return
    repo = gateway.repo_of(settings)
    async with ctx.sessionmaker() as session:
        state = await gateway.state(session, repo)
        etag = state.open_issues_etag if state is not None else None
        previous_sync = state.last_sync_at if state is not None else None
        known_open = await mirror.open_numbers(session, repo=repo)
    try:
        gateway.check_pause(state.paused_until if state is not None else None)
    except RetryLater:
        return  # GitHub asked for quiet; the next period tries again
    gone: list[tuple[int, dict[str, Any] | None]] = []
    missing: list[int] = []
    try:
        async with gateway.client(settings) as gh:
            page = await gh.list_open_issues(etag=etag)
            if not page.not_modified:
                listed = {item.get("number") for item in page.issues}
                missing = sorted(known_open - {n for n in listed if isinstance(n, int)})
                for number in missing[:GONE_CHECK_LIMIT]:
                    gone.append((number, await gh.get_issue(number)))
    except (GithubRetryable, GithubPermanent) as exc:
        # Not retried: the next period syncs again. Shown on the admin page instead of
        # piling up a failed job every few minutes while GitHub is down.
        await gateway.failed(ctx, exc)
        async with ctx.sessionmaker() as session, session.begin():
            await gateway.update_state(
                session, repo, last_error=exc.message[:4000], last_error_at=utcnow()
            )
        log.warning("issue sync failed: %s", exc.message)
        await backfill_local_bugs(ctx)
        return
    async with ctx.sessionmaker() as session, session.begin():
        if not page.not_modified:
            for item in page.issues:
                try:
                    data = parse_issue(item, repo=repo)
                except MalformedEvent as exc:
                    log.warning("sync: skipping a malformed issue: %s", exc)
                    continue
                await _upsert_and_reconcile(session, settings, data)
            for number, found in gone:
                if found is None:
                    await mirror.delete_issue(session, repo=repo, number=number)
                    continue
                await _upsert_and_reconcile(session, settings, parse_issue(found, repo=repo))
            # Only a complete pass may let the next one stop at a 304.
            if page.etag and len(missing) <= GONE_CHECK_LIMIT:
                await gateway.update_state(session, repo, open_issues_etag=page.etag)
        await gateway.update_state(
            session,
            repo,
            last_sync_at=utcnow(),
            last_sync_not_modified=page.not_modified,
            last_error=None,
            last_error_at=None,
        )
    # A comment changes its issue in the open list: an unchanged list (304) means no
    # comment on an open issue was missed, and costs no second request.
    if previous_sync is not None and not page.not_modified:
        await catch_up_comments(ctx, since=previous_sync - COMMENT_SLACK)
    await backfill_local_bugs(ctx)


COMMENT_SLACK = timedelta(minutes=5)  # a comment made while the previous sync ran


async def catch_up_comments(ctx: JobContext, *, since: datetime) -> int:
    """Comments on bugs' issues whose webhook never came: the repository's comments since
    the previous sync, each taken in as its webhook would (a known one changes nothing;
    ours and bots' are never taken). Best effort: a failure waits for the next sync."""
    settings = ctx.settings
    try:
        async with gateway.client(settings) as gh:
            listed = await gh.comments_since(since)
    except (GithubRetryable, GithubPermanent) as exc:
        log.warning("comment catch-up failed: %s", exc.message)
        return 0
    taken = 0
    async with ctx.sessionmaker() as session, session.begin():
        for item in listed:
            try:
                event = parse_listed_comment(item)
            except MalformedEvent as exc:
                log.warning("sync: skipping a malformed comment: %s", exc)
                continue
            if await apply_comment_to_bug(session, settings, event) is not None:
                taken += 1
    if taken:
        log.info("sync: %s comment(s) whose webhook never came taken in", taken)
    return taken


async def _upsert_and_reconcile(session: AsyncSession, settings: Settings, data: IssueData) -> None:
    result = await mirror.upsert_issue(session, data)
    if result.state_changed:
        action = "closed" if data.state == "closed" else "reopened"
        await apply_issue_to_bug(session, settings, data, action=action)


async def backfill_local_bugs(ctx: JobContext) -> int:
    """Queue again the bugs that have no issue because GitHub was off when they were filed."""
    cutoff = utcnow() - BACKFILL_AFTER
    queued = 0
    async with ctx.sessionmaker() as session, session.begin():
        ids = list(
            (
                await session.execute(
                    select(BugLog.id)
                    .where(BugLog.github_issue_number.is_(None), BugLog.created_at < cutoff)
                    .order_by(BugLog.id)
                    .limit(BACKFILL_LIMIT)
                )
            ).scalars()
        )
        if not ids:
            return 0
        keys = {issue_job_key(bug_id): bug_id for bug_id in ids}
        jobs = {
            j.unique_key: j
            for j in (
                await session.execute(select(Job).where(Job.unique_key.in_(list(keys))))
            ).scalars()
        }
        for key, bug_id in keys.items():
            existing = jobs.get(key)
            if existing is None:
                await outbox.enqueue(
                    session,
                    messages.CreateGithubIssue(bug_id=bug_id),
                    unique_key=key,
                    max_attempts=50,
                )
            elif existing.status == "done":
                await outbox.retry_job(session, job_id=existing.id)
            else:
                continue  # pending, running, or failed (an admin's call)
            queued += 1
    if queued:
        log.info("re-queued %s bug(s) kept locally for GitHub", queued)
    return queued


def issue_job_key(bug_id: int) -> str:
    """The unique key of a bug's issue job (the same one ``support.file_bug`` uses)."""
    return f"{messages.CreateGithubIssue.kind}:{bug_id}"


def sync_key(settings: Settings, now: datetime) -> str:
    minutes = max(1, settings.github_sync_minutes)
    return str(int(now.timestamp() // (minutes * 60)))


async def request_sync(session: AsyncSession) -> None:
    """An admin asked for a sync now (at most one queued at a time)."""
    pending = await session.scalar(
        select(func.count()).where(
            Job.kind == messages.SyncGithubIssues.kind, Job.status.in_(["pending", "running"])
        )
    )
    if not pending:
        await outbox.enqueue(session, messages.SyncGithubIssues(), max_attempts=3)
