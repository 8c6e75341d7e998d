"""What /admin/github and its dashboard panel show, and the admin's Retry button."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Feature, Settings
from devops_center.db import utcnow
from devops_center.errors import NotFound
from devops_center.github import backfill, gateway, mirror
from devops_center.github.webhooks import SOURCE
from devops_center.i18n import lazy
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job, WebhookDelivery
from devops_center.support.models import BugLog

# The job kinds shown (and retried) on /admin/github.
JOB_KINDS = (
    messages.CreateGithubIssue.kind,
    messages.ProcessGithubDelivery.kind,
    messages.SyncGithubIssues.kind,
    messages.PurgeGithubDeliveries.kind,
    messages.AddGithubScreenshot.kind,
    messages.BackfillGithubDeployments.kind,
)


@dataclass
class Overview:
    """What ``/admin/github`` and its dashboard panel show."""

    github: Feature
    webhooks: Feature
    repo: str | None
    counts: mirror.IssueCounts
    newest: list[Any] = field(default_factory=list)
    issues: list[Any] = field(default_factory=list)  # the open issues of /admin/github
    sort: str = "newest"
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    failed_jobs: list[Job] = field(default_factory=list)
    queued_jobs: int = 0
    bugs_without_issue: int = 0
    last_sync_at: datetime | None = None
    paused_until: datetime | None = None
    sync_error: str | None = None
    sync_error_at: datetime | None = None
    backfill: backfill.Progress | None = None


ISSUES_SHOWN = 50


async def overview(
    session: AsyncSession, settings: Settings, *, limit: int = 20, sort: str | None = None
) -> Overview:
    """The summary; with ``sort`` (newest | impact; anything else: newest) also the open
    issues in that order (the full page)."""
    repo = settings.github_repo
    counts = await mirror.issue_counts(session, repo=repo)
    newest = await mirror.newest_open(session, repo=repo, limit=5)
    order = sort if sort in mirror.SORTS else "newest"
    issues = (
        await mirror.newest_open(session, repo=repo, limit=ISSUES_SHOWN, sort=order)
        if sort is not None
        else []
    )
    deliveries = list(
        (
            await session.execute(
                select(WebhookDelivery)
                .where(WebhookDelivery.source == SOURCE)
                .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
    failed = list(
        (
            await session.execute(
                select(Job)
                .where(Job.kind.in_(JOB_KINDS), Job.status == "failed")
                .order_by(Job.updated_at.desc(), Job.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
    queued = await session.scalar(
        select(func.count()).where(Job.kind.in_(JOB_KINDS), Job.status.in_(["pending", "running"]))
    )
    without = await session.scalar(select(func.count()).where(BugLog.github_issue_number.is_(None)))
    state = await gateway.state(session, repo) if repo else None
    return Overview(
        github=settings.github_enabled(),
        webhooks=settings.webhooks_enabled(),
        repo=repo,
        counts=counts,
        newest=newest,
        issues=issues,
        sort=order,
        deliveries=deliveries,
        failed_jobs=failed,
        queued_jobs=int(queued or 0),
        bugs_without_issue=int(without or 0),
        last_sync_at=state.last_sync_at if state else None,
        paused_until=(
            state.paused_until
            if state and state.paused_until and state.paused_until > utcnow()
            else None
        ),
        sync_error=state.last_error if state else None,
        sync_error_at=state.last_error_at if state else None,
        backfill=await backfill.progress(session),
    )


async def retry_github_job(session: AsyncSession, *, job_id: int) -> Job:
    """The admin's Retry button: only GitHub jobs, from this page."""
    found = await session.get(Job, job_id)
    if found is None or found.kind not in JOB_KINDS:
        raise NotFound(lazy("No such job"))
    if found.kind == messages.ProcessGithubDelivery.kind:
        pk = (found.payload or {}).get("delivery")
        delivery = await session.get(WebhookDelivery, pk) if isinstance(pk, int) else None
        if delivery is not None and delivery.status == "failed":
            delivery.status = "received"
    return await outbox.retry_job(session, job_id=job_id)
