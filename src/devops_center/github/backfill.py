"""``dcc github backfill``: GITHUB_REPO's deployment history, imported by the worker.

A run is a chain of ``github.backfill`` jobs, one page each: first the workflow runs of
the deploy workflow (``DCC_DEPLOY_WORKFLOW``) created in the window, then the
repository's deployments with their latest status. Every item is mapped by the
function its webhook goes through (``deployments.service.map_workflow_run`` /
``map_deployment_status``: same ``external_id``, so a later webhook or a second run
updates the row) and the page is registered in one batch by ``record_many``.

The cursor is the job: the page's transaction registers the batch, stores the run's
totals as the job's own payload (``page_done``) and enqueues the next page's job (once,
by a unique key). A worker killed mid-page runs the page again; one killed after the
commit finds it done. A rate limit (403/429 with ``X-RateLimit-Reset`` or
``Retry-After``) pauses every GitHub job until then and the page is fetched again.

Commits: items are registered without them, and the last page enqueues
``deployments.fetch_commits`` (GitHub's compare API, as for a webhook) for every
finished deployment of the window that has none, once all of history is in (a compare
against a predecessor not imported yet would claim too many commits). History is not
news: no admin alert, no "what went live".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments import service as deployments
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.deployments.registration import record_many
from devops_center.deployments.schemas import FINAL_STATUSES
from devops_center.github import gateway
from devops_center.integrations.github import history
from devops_center.integrations.github.client import (
    GithubClient,
    GithubPermanent,
    GithubRetryable,
)
from devops_center.integrations.github.events import parse_time
from devops_center.outbox import service as outbox
from devops_center.outbox.messages import BackfillGithubDeployments, FetchDeploymentCommits
from devops_center.outbox.models import Job
from devops_center.outbox.registry import JobContext, PermanentFailure

log = logging.getLogger("devops_center.github")

KIND = BackfillGithubDeployments.kind
MAX_ATTEMPTS = 25  # a page waits out a rate limit several times before giving up
PAGES_PER_WINDOW = history.MAX_LISTED // history.PER_PAGE
SOURCES = ("workflow_run", "deployment_status")


# --------------------------------------------------------------------------- start


class Refused(ValueError):
    """A backfill that can't start, in one line for the operator."""


async def latest_job(session: AsyncSession) -> Job | None:
    return (
        await session.execute(select(Job).where(Job.kind == KIND).order_by(Job.id.desc()).limit(1))
    ).scalar_one_or_none()


async def start(
    session: AsyncSession,
    settings: Settings,
    *,
    since: datetime,
    until: datetime | None = None,
    dry_run: bool = False,
) -> Job:
    """Queue a backfill of [``since``, ``until``); returns its first job (the run's id).
    Refused: GitHub off, ``since`` in the future or not before ``until``, a run going."""
    if not settings.github_enabled().enabled:
        raise Refused(f"GitHub is off: {settings.github_enabled().why}")
    if since > utcnow():
        raise Refused(f"--since {since.date().isoformat()} is in the future")
    if until is not None and until <= since:
        raise Refused("--until must be after --since")
    current = await latest_job(session)
    if current is not None and current.status in ("pending", "running"):
        run = (current.payload or {}).get("run") or current.id
        raise Refused(
            f"a backfill is already running (job {run}): see dcc github backfill --status"
        )
    msg = BackfillGithubDeployments(since=since, until=until, dry_run=dry_run)
    job = await outbox.enqueue(session, msg, max_attempts=MAX_ATTEMPTS)
    assert job is not None
    return job


# ------------------------------------------------------------------------ one page


@dataclass
class Fetched:
    """One page, mapped: what to register, and where the next page is (None: the end)."""

    mapped: list[deployments.Mapped] = field(default_factory=list)
    listed: int = 0
    skipped: int = 0
    refusals: list[str] = field(default_factory=list)
    next: dict[str, Any] | None = None


def _map(fetched: Fetched, what: str, fn: Any, payload: dict[str, Any], settings: Settings) -> None:
    fetched.listed += 1
    try:
        mapped = fn(payload, settings=settings)
    except deployments.Unusable as exc:
        fetched.refusals.append(f"{what}: {exc}")
        return
    if mapped is None:
        fetched.skipped += 1
    else:
        fetched.mapped.append(mapped)


def _inside(msg: BackfillGithubDeployments, when: datetime | None) -> bool:
    return when is not None and when >= msg.since and (msg.until is None or when < msg.until)


async def _runs_page(
    gh: GithubClient, msg: BackfillGithubDeployments, repo: dict[str, Any], settings: Settings
) -> Fetched:
    upper = msg.upper
    if upper is None and msg.until is not None:
        upper = msg.until - timedelta(seconds=1)
    page = await history.workflow_runs(
        gh, since=msg.since, upper=upper, branch=repo.get("default_branch"), page=msg.page
    )
    out = Fetched()
    oldest: datetime | None = None
    for run in page.items:
        created = parse_time(run.get("created_at"))
        if created is not None and (oldest is None or created < oldest):
            oldest = created
        if not _inside(msg, created):
            continue
        action = "completed" if run.get("status") == "completed" else "in_progress"
        payload = {"action": action, "workflow_run": run, "repository": repo}
        _map(out, f"run {run.get('id')}", deployments.map_workflow_run, payload, settings)
    if page.has_next and page.items:
        if msg.page < PAGES_PER_WINDOW:
            out.next = {"stream": "runs", "page": msg.page + 1, "upper": msg.upper}
        else:  # GitHub lists 1,000 at most: the next window ends at the oldest seen
            new_upper = oldest or msg.since
            if upper is not None and new_upper >= upper:
                new_upper = upper - timedelta(seconds=1)
            out.next = {"stream": "runs", "page": 1, "upper": new_upper}
    else:
        out.next = {"stream": "deployments", "page": 1, "upper": None}
    return out


async def _deployments_page(
    gh: GithubClient, msg: BackfillGithubDeployments, repo: dict[str, Any], settings: Settings
) -> Fetched:
    page = await history.deployments(gh, page=msg.page)
    out = Fetched()
    older = False
    for dep in page.items:
        created = parse_time(dep.get("created_at"))
        if created is not None and created < msg.since:
            older = True  # listed newest first: the rest is older still
            continue
        if not _inside(msg, created) or not isinstance(dep.get("id"), int):
            continue
        status = await history.latest_status(gh, dep["id"])
        if status is None:
            out.listed += 1
            out.skipped += 1  # never started
            continue
        payload: dict[str, Any] = {"deployment": dep, "deployment_status": status}
        payload["repository"] = repo
        named = history.run_named_by(status)
        if named is not None:
            run = await history.workflow_run(gh, named[0])
            if run is not None:
                payload["workflow_run"] = {**run, "run_attempt": named[1] or run.get("run_attempt")}
        what = f"deployment {dep['id']}"
        _map(out, what, deployments.map_deployment_status, payload, settings)
    if page.has_next and page.items and not older:
        out.next = {"stream": "deployments", "page": msg.page + 1, "upper": None}
    return out


async def _register(
    session: AsyncSession, msg: BackfillGithubDeployments, mapped: list[deployments.Mapped]
) -> tuple[int, int]:
    """(imported, updated): registered, or for a dry run what would be."""
    if not mapped:
        return 0, 0
    if msg.dry_run:
        ids = [m.data.external_id for m in mapped if m.data.external_id]
        stmt = select(Deployment.external_id).where(Deployment.external_id.in_(ids))
        known = {str(x) for x in (await session.execute(stmt)).scalars()}
        updated = sum(1 for m in mapped if m.data.external_id in known)
        return len(mapped) - updated, updated
    # settings=None: commits are not fetched page by page but once history is in (below).
    done = await record_many(
        session,
        [m.data for m in mapped],
        source=mapped[0].source,
        settings=None,
        head_commits=None,
        announce=False,
    )
    created = sum(1 for r in done if r.created)
    return created, len(done) - created


async def _fetch_commits(session: AsyncSession, msg: BackfillGithubDeployments) -> int:
    """Queue the compare of every finished deployment of the window without commits."""
    stmt = (
        select(Deployment.id)
        .where(
            Deployment.source.in_(SOURCES),
            Deployment.status.in_(FINAL_STATUSES),
            Deployment.started_at >= msg.since,
            ~exists().where(DeploymentCommit.deployment_id == Deployment.id),
        )
        .order_by(Deployment.started_at, Deployment.id)
    )
    if msg.until is not None:
        stmt = stmt.where(Deployment.started_at < msg.until)
    queued = 0
    for deployment_id in (await session.execute(stmt)).scalars():
        job = await outbox.enqueue(
            session,
            FetchDeploymentCommits(deployment_id=deployment_id, announce=False),
            unique_key=f"{FetchDeploymentCommits.kind}:{deployment_id}",
        )
        queued += job is not None
    return queued


def _short(text: str | None) -> str | None:
    return text[:500] if text else None


async def run_page(ctx: JobContext, msg: BackfillGithubDeployments) -> None:
    """One page of a backfill run (the ``github.backfill`` job)."""
    if msg.page_done:
        return  # committed by an earlier run of this job
    settings = ctx.settings
    if not settings.github_enabled().enabled:
        raise PermanentFailure(f"GitHub is off: {settings.github_enabled().why}")
    async with ctx.sessionmaker() as session:
        gateway.check_pause(await gateway.paused_until(session, settings))
    try:
        async with gateway.client(settings) as gh:
            repo = await history.repository(gh)
            page = _runs_page if msg.stream == "runs" else _deployments_page
            fetched = await page(gh, msg, repo, settings)
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc
    run = msg.run or ctx.job_id
    async with ctx.sessionmaker() as session, session.begin():
        imported, updated = await _register(session, msg, fetched.mapped)
        totals = msg.model_copy(
            update={
                "run": run,
                "pages": msg.pages + 1,
                "listed": msg.listed + fetched.listed,
                "imported": msg.imported + imported,
                "updated": msg.updated + updated,
                "skipped": msg.skipped + fetched.skipped,
                "refused": msg.refused + len(fetched.refusals),
                "last_refusal": fetched.refusals[-1] if fetched.refusals else msg.last_refusal,
                "last_error": _short((await outbox.get_job(session, job_id=ctx.job_id)).last_error)
                or msg.last_error,
            }
        )
        await outbox.record_progress(
            session, job_id=ctx.job_id, message=totals.model_copy(update={"page_done": True})
        )
        if fetched.next is not None:
            nxt = totals.model_copy(update=fetched.next)
            upper = nxt.upper.isoformat() if nxt.upper else ""
            await outbox.enqueue(
                session,
                nxt,
                unique_key=f"{KIND}:{run}:{ctx.job_id}:{nxt.stream}:{nxt.page}:{upper}"[:200],
                max_attempts=MAX_ATTEMPTS,
            )
        elif not msg.dry_run:
            queued = await _fetch_commits(session, msg)
            log.info("backfill %s done; commits of %s deployment(s) queued", run, queued)


# ---------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """Where the latest backfill run stands (``--status``, /admin/github)."""

    run: int
    job_id: int
    state: str  # running | paused | done | failed
    message: BackfillGithubDeployments
    last_error: str | None
    retry_at: datetime | None


async def progress(session: AsyncSession) -> Progress | None:
    job = await latest_job(session)
    if job is None:
        return None
    try:
        msg = BackfillGithubDeployments.model_validate(job.payload or {})
    except ValueError:
        return None
    now = utcnow()
    if job.status in ("pending", "running"):
        paused = job.status == "pending" and job.last_error and job.run_after > now
        state = "paused" if paused else "running"
    else:
        state = "done" if job.status == "done" else "failed"
    return Progress(
        run=msg.run or job.id,
        job_id=job.id,
        state=state,
        message=msg,
        last_error=job.last_error,
        retry_at=job.run_after if state == "paused" else None,
    )
