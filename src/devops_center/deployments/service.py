"""Deployments: record (upsert by external id), list, commits, and what a result triggers.

A deployment arrives from CI (``POST /api/v1/deployments``, ``dcc deploy record``) or
from GitHub webhooks (``workflow_run``, ``deployment_status``). All of them go through
:func:`record`, which in the caller's transaction

* inserts or updates the row by ``external_id`` (a retried CI step never double counts;
  the webhook of a run uses the same ``<run_id>-<run_attempt>`` id as the CI step);
* stores the commits sent with it, or enqueues ``deployments.fetch_commits`` so the
  worker asks GitHub for them;
* opens an incident for a failed or rolled-back deployment and closes it at the next
  success of the same service and environment;
* enqueues ``notify.admin`` ``{event: deployment_finished}`` once per final status.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import cache
from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.deployments.schemas import FINAL_STATUSES, CommitIn, DeploymentIn
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.incidents import service as incidents
from devops_center.inputs import http_url_or_none
from devops_center.outbox import messages
from devops_center.outbox import service as outbox

log = logging.getLogger("devops_center.deployments")

FAILED_STATUSES = ("failed", "rolled_back")
# GitHub conclusions of a finished run → our status (others: not a deployment).
CONCLUSIONS = {"success": "success", "failure": "failed", "timed_out": "failed"}
DEPLOYMENT_STATES = {
    "success": "success",
    "failure": "failed",
    "error": "failed",
    "in_progress": "in_progress",
    "queued": "in_progress",
    "pending": "in_progress",
}


@dataclass(frozen=True)
class Recorded:
    deployment: Deployment
    created: bool


def default_service(settings: Settings | None) -> str:
    """A deployment without a service belongs to the repository (GITHUB_REPO's name)."""
    if settings is not None and settings.github_repo:
        return settings.github_repo.split("/", 1)[1][:100]
    return "app"


def incident_ref(service: str, environment: str) -> str:
    return f"{service}@{environment}"[:200]


async def record(
    session: AsyncSession,
    *,
    data: DeploymentIn,
    source: str = "api",
    settings: Settings | None = None,
    head_commit: CommitIn | None = None,
) -> Recorded:
    """Insert or update a deployment (by ``external_id``) and everything that follows from it.

    ``head_commit`` (known time of the deployed commit, e.g. from a webhook) is stored
    when no commits were sent and GitHub can't be asked.
    """
    service = data.service or default_service(settings)
    values: dict[str, Any] = {
        "commit_sha": data.commit_sha,
        "commit_message": data.commit_message,
        "started_at": data.started_at,
        "completed_at": data.completed_at,
        "status": data.status,
        "duration_seconds": data.duration_seconds,
        "triggered_by": data.triggered_by,
        "tests_passed": data.tests_passed,
        "tests_failed": data.tests_failed,
        "environment": data.environment,
        "service": service,
        "kind": data.kind,
        "external_id": data.external_id,
        "source": source[:20],
        "url": data.url,
    }
    now = utcnow()
    created = True
    previous_status: str | None = None
    if data.external_id is None:
        deployment = Deployment(**values, created_at=now, updated_at=now)
        session.add(deployment)
        await session.flush()
    else:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(Deployment)
            .values(**values, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["external_id"])
            .returning(Deployment.id)
        )
        new_id = (await session.execute(stmt)).scalar_one_or_none()
        if new_id is not None:
            deployment = await _get(session, new_id)
        else:
            created = False
            found = await find_by_external_id(session, external_id=data.external_id)
            if found is None:  # deleted between the two statements
                raise Invalid(lazy("The deployment could not be stored; try again"))
            deployment = found
            previous_status = deployment.status
            _merge(deployment, values)
            deployment.updated_at = now
            await session.flush()

    commits_known = await _store_commits(session, deployment, data.commits, head_commit, settings)
    await _after_status(session, deployment, previous_status, created=created)
    if not commits_known and deployment.status in FINAL_STATUSES:
        await outbox.enqueue(
            session,
            messages.FetchDeploymentCommits(deployment_id=deployment.id),
            unique_key=f"{messages.FetchDeploymentCommits.kind}:{deployment.id}",
        )
    # Last, so the shared cache-version row stays locked only until the commit that
    # follows: concurrent registrations queue on it for as short a time as possible.
    await incidents.metrics_changed(session)
    return Recorded(deployment, created)


def _merge(deployment: Deployment, values: dict[str, Any]) -> None:
    """A repeat updates the row; a value left out (None) keeps what is stored, and a
    finished deployment never goes back to ``in_progress`` (late or reordered events)."""
    for name, value in values.items():
        if name in ("external_id", "source"):
            continue
        if name == "status":
            if value == "in_progress" and deployment.status in FINAL_STATUSES:
                continue
        elif value is None or (
            name in ("completed_at", "duration_seconds") and values["status"] == "in_progress"
        ):
            continue
        setattr(deployment, name, value)
    if deployment.completed_at is not None:
        deployment.duration_seconds = max(
            0, int((deployment.completed_at - deployment.started_at).total_seconds())
        )


async def _store_commits(
    session: AsyncSession,
    deployment: Deployment,
    commits: list[CommitIn] | None,
    head_commit: CommitIn | None,
    settings: Settings | None,
) -> bool:
    """Store the sent commits; True when the deployment's commits are known (or coming)."""
    if commits is not None:
        await replace_commits(session, deployment_id=deployment.id, commits=commits)
        return True
    existing = await session.scalar(
        select(func.count())
        .select_from(DeploymentCommit)
        .where(DeploymentCommit.deployment_id == deployment.id)
    )
    if existing:
        return True
    github_on = settings is not None and settings.github_enabled().enabled
    if not github_on:
        if head_commit is not None:
            await replace_commits(session, deployment_id=deployment.id, commits=[head_commit])
        return True  # nobody to ask: lead time falls back to pipeline duration
    return False


async def replace_commits(
    session: AsyncSession, *, deployment_id: int, commits: list[CommitIn]
) -> int:
    """Make ``commits`` the deployment's commits (duplicates by sha are merged)."""
    await session.execute(
        delete(DeploymentCommit).where(DeploymentCommit.deployment_id == deployment_id)
    )
    unique: dict[str, CommitIn] = {}
    for commit in commits:
        unique.setdefault(commit.sha, commit)
    if unique:
        session.add_all(
            DeploymentCommit(
                deployment_id=deployment_id,
                sha=c.sha,
                committed_at=c.committed_at,
                message=c.message,
                author=c.author,
            )
            for c in unique.values()
        )
        await session.flush()
    return len(unique)


async def _after_status(
    session: AsyncSession, deployment: Deployment, previous: str | None, *, created: bool
) -> None:
    status = deployment.status
    if status not in FINAL_STATUSES or (not created and previous == status):
        return
    ref = incident_ref(deployment.service, deployment.environment)
    when = deployment.completed_at or deployment.started_at
    if status in FAILED_STATUSES:
        verb = "failed" if status == "failed" else "was rolled back"
        # Learnt late (reordered webhooks, back-filled CI): a later success already fixed it.
        recovery = await next_successful(session, deployment=deployment)
        await incidents.open_incident(
            session,
            source="deployment",
            source_ref=ref,
            title=f"Deployment of {deployment.service} ({deployment.environment}) {verb}",
            service=deployment.service,
            environment=deployment.environment,
            severity="high",
            deployment_id=deployment.id,
            opened_at=when,
            description=f"{deployment.commit_sha[:12]} {deployment.commit_message or ''}".strip(),
            resolved_at=(recovery.completed_at or recovery.started_at) if recovery else None,
            resolved_by_deployment_id=recovery.id if recovery else None,
        )
    else:
        incident = await incidents.find_open(session, source="deployment", source_ref=ref)
        if incident is not None and incident.opened_at <= when:
            await incidents.resolve(
                session,
                incident_id=incident.id,
                resolved_at=when,
                resolved_by_deployment_id=deployment.id,
            )
    await outbox.enqueue(
        session,
        messages.NotifyAdmins(event="deployment_finished", deployment_id=deployment.id),
        unique_key=f"deployment_finished:{deployment.id}:{status}",
    )


# --------------------------------------------------------------------------- reading


async def _get(session: AsyncSession, deployment_id: int) -> Deployment:
    deployment = await session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(lazy("No such deployment"))
    return deployment


async def get_deployment(session: AsyncSession, *, deployment_id: int) -> Deployment:
    return await _get(session, deployment_id)


async def find_by_external_id(session: AsyncSession, *, external_id: str) -> Deployment | None:
    stmt = select(Deployment).where(Deployment.external_id == external_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def commit_count(session: AsyncSession, *, deployment_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(DeploymentCommit)
            .where(DeploymentCommit.deployment_id == deployment_id)
        )
        or 0
    )


async def commit_counts(session: AsyncSession, *, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    stmt = (
        select(DeploymentCommit.deployment_id, func.count())
        .where(DeploymentCommit.deployment_id.in_(ids))
        .group_by(DeploymentCommit.deployment_id)
    )
    return {int(i): int(n) for i, n in await session.execute(stmt)}


async def list_commits(session: AsyncSession, *, deployment_id: int) -> list[DeploymentCommit]:
    stmt = (
        select(DeploymentCommit)
        .where(DeploymentCommit.deployment_id == deployment_id)
        .order_by(DeploymentCommit.committed_at.desc(), DeploymentCommit.id)
    )
    return list((await session.execute(stmt)).scalars())


async def _successful_beside(
    session: AsyncSession, deployment: Deployment, *, after: bool
) -> Deployment | None:
    """The nearest successful deployment of the same service and environment, before or
    after this one (by ``started_at``)."""
    when = (
        Deployment.started_at > deployment.started_at
        if after
        else Deployment.started_at < deployment.started_at
    )
    order = (
        (Deployment.started_at, Deployment.id)
        if after
        else (Deployment.started_at.desc(), Deployment.id.desc())
    )
    stmt = (
        select(Deployment)
        .where(
            Deployment.service == deployment.service,
            Deployment.environment == deployment.environment,
            Deployment.status == "success",
            when,
            Deployment.id != deployment.id,
        )
        .order_by(*order)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def previous_successful(
    session: AsyncSession, *, deployment: Deployment
) -> Deployment | None:
    """The last successful deployment of the same service and environment before this one."""
    return await _successful_beside(session, deployment, after=False)


async def next_successful(session: AsyncSession, *, deployment: Deployment) -> Deployment | None:
    """The first successful deployment of the same service and environment after this one."""
    return await _successful_beside(session, deployment, after=True)


@dataclass(frozen=True)
class Page:
    items: list[Deployment]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def list_deployments(
    session: AsyncSession,
    *,
    service: str | None = None,
    environment: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Newest first, filtered; ``page`` counts from 1."""
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    conditions = []
    if service:
        conditions.append(Deployment.service == service)
    if environment:
        conditions.append(Deployment.environment == environment)
    if status:
        conditions.append(Deployment.status == status)
    if since is not None:
        conditions.append(Deployment.started_at >= since)
    total = int(
        await session.scalar(select(func.count()).select_from(Deployment).where(*conditions)) or 0
    )
    stmt = (
        select(Deployment)
        .where(*conditions)
        .order_by(Deployment.started_at.desc(), Deployment.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = list((await session.execute(stmt)).scalars())
    return Page(items, total, page, per_page)


async def latest(
    session: AsyncSession,
    *,
    limit: int = 10,
    environment: str | None = None,
    service: str | None = None,
) -> list[Deployment]:
    """The newest ``limit`` deployments (no count: an index walk of ``limit`` rows)."""
    stmt = select(Deployment).order_by(Deployment.started_at.desc(), Deployment.id.desc())
    if environment:
        stmt = stmt.where(Deployment.environment == environment)
    if service:
        stmt = stmt.where(Deployment.service == service)
    return list((await session.execute(stmt.limit(max(1, min(limit, 200))))).scalars())


async def last_deployment(
    session: AsyncSession, *, environment: str = "production", service: str | None = None
) -> Deployment | None:
    """The most recent finished deployment (for /morning: "2 hours ago")."""
    stmt = (
        select(Deployment)
        .where(Deployment.environment == environment, Deployment.status != "in_progress")
        .order_by(Deployment.started_at.desc(), Deployment.id.desc())
        .limit(1)
    )
    if service:
        stmt = stmt.where(Deployment.service == service)
    return (await session.execute(stmt)).scalar_one_or_none()


# Distinct values of an indexed column by a loose index scan: one index seek per value,
# not a pass over every row, so pickers stay fast whatever the size of the table.
_DISTINCT_SERVICES = text(
    "WITH RECURSIVE v(x) AS (SELECT min(service) FROM deployments "
    "UNION ALL SELECT (SELECT min(service) FROM deployments WHERE service > v.x) "
    "FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
)
_DISTINCT_ENVIRONMENTS = text(
    "WITH RECURSIVE v(x) AS (SELECT min(environment) FROM deployments "
    "UNION ALL SELECT (SELECT min(environment) FROM deployments WHERE environment > v.x) "
    "FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
)


NAMES_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Names:
    """The service and environment names seen, for the pickers."""

    services: list[str]
    environments: list[str]


async def names(session: AsyncSession) -> Names:
    """Service and environment names, kept in the key-value store until the next write of
    a deployment (the DORA cache version) or ten minutes: the pickers of every dashboard
    view then cost one indexed lookup instead of two walks over the deployments index
    (bench/dora.py: they made /admin/devops slower at 1M deployments than at 10k)."""
    version = await cache.get(session, key=incidents.METRICS_VERSION_KEY) or "0"
    key = f"deployments.names:{version}"[:200]
    hit = await cache.get(session, key=key)
    if isinstance(hit, dict) and isinstance(hit.get("services"), list):
        return Names(
            services=[str(x) for x in hit.get("services") or []],
            environments=[str(x) for x in hit.get("environments") or []],
        )
    found = Names(
        services=[str(x) for x in (await session.execute(_DISTINCT_SERVICES)).scalars()],
        environments=[str(x) for x in (await session.execute(_DISTINCT_ENVIRONMENTS)).scalars()],
    )
    await cache.put(session, key=key, value=asdict(found), ttl=NAMES_TTL)
    return found


# -------------------------------------------------------------------------- webhooks


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _build(fields: dict[str, Any]) -> DeploymentIn | None:
    try:
        return DeploymentIn.model_validate(fields)
    except ValidationError as exc:
        log.warning("webhook deployment ignored: %s", exc.errors()[:3])
        return None


def _head_commit(run_or_none: dict[str, Any] | None) -> CommitIn | None:
    if not isinstance(run_or_none, dict):
        return None
    head = run_or_none.get("head_commit")
    if not isinstance(head, dict):
        return None
    when = _parse_time(head.get("timestamp"))
    sha = head.get("id")
    if when is None or not isinstance(sha, str):
        return None
    author = head.get("author") if isinstance(head.get("author"), dict) else {}
    try:
        return CommitIn(
            sha=sha,
            committed_at=when,
            message=str(head.get("message") or "")[:10_000] or None,
            author=str((author or {}).get("name") or "")[:200] or None,
        )
    except ValidationError:
        return None


async def record_from_workflow_run(
    session: AsyncSession, payload: dict[str, Any], *, settings: Settings
) -> Deployment | None:
    """A ``workflow_run`` webhook of the deploy workflow (``DCC_DEPLOY_WORKFLOW``) → a
    deployment with ``external_id`` ``<run_id>-<run_attempt>``, the same id the CI step
    sends, so the webhook and the API never double count. Other workflows, pull-request
    runs, branches other than the default one, and cancelled or skipped runs are ignored
    (returns None)."""
    run = payload.get("workflow_run")
    if not isinstance(run, dict):
        return None
    workflow = payload.get("workflow") if isinstance(payload.get("workflow"), dict) else {}
    name = run.get("name") or (workflow or {}).get("name") or ""
    if name != settings.deploy_workflow:
        return None
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    repo = repo or {}
    default_branch = repo.get("default_branch")
    if run.get("event") == "pull_request" or (
        default_branch and run.get("head_branch") not in (None, default_branch)
    ):
        return None
    action = payload.get("action")
    if action == "completed" or run.get("status") == "completed":
        status = CONCLUSIONS.get(str(run.get("conclusion")))
        if status is None:
            return None  # cancelled, skipped, neutral, action_required …
    elif action in ("requested", "in_progress"):
        status = "in_progress"
    else:
        return None
    started = _parse_time(run.get("run_started_at")) or _parse_time(run.get("created_at"))
    completed = _parse_time(run.get("updated_at")) if status != "in_progress" else None
    head = _head_commit(run)
    actor = run.get("triggering_actor") or run.get("actor") or {}
    data = _build(
        {
            "commit_sha": run.get("head_sha"),
            "commit_message": head.message if head else None,
            "started_at": started,
            "completed_at": max(completed, started) if completed and started else completed,
            "status": status,
            "triggered_by": (actor.get("login") if isinstance(actor, dict) else None),
            "environment": "production",
            "service": repo.get("name") or default_service(settings),
            "external_id": f"{run.get('id')}-{run.get('run_attempt') or 1}",
            "url": http_url_or_none(run.get("html_url")),
        }
    )
    if data is None:
        return None
    result = await record(
        session, data=data, source="workflow_run", settings=settings, head_commit=head
    )
    return result.deployment


async def record_from_deployment_status(
    session: AsyncSession, payload: dict[str, Any], *, settings: Settings
) -> Deployment | None:
    """A ``deployment_status`` webhook → a deployment of ``deployment.environment``.

    Upserted by the workflow run that made it when the payload names one (then it is
    the same row as the run's ``workflow_run`` event and the CI step), else by the
    GitHub deployment id.
    """
    status_obj = payload.get("deployment_status")
    deployment = payload.get("deployment")
    if not isinstance(status_obj, dict) or not isinstance(deployment, dict):
        return None
    status = DEPLOYMENT_STATES.get(str(status_obj.get("state")))
    if status is None:
        return None  # inactive, …
    run = payload.get("workflow_run")
    if isinstance(run, dict) and run.get("id"):
        external_id = f"{run.get('id')}-{run.get('run_attempt') or 1}"
    else:
        external_id = f"gh-deployment-{deployment.get('id')}"
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    repo = repo or {}
    started = _parse_time(deployment.get("created_at"))
    finished = _parse_time(status_obj.get("created_at")) if status != "in_progress" else None
    creator = deployment.get("creator") if isinstance(deployment.get("creator"), dict) else {}
    environment = str(deployment.get("environment") or status_obj.get("environment") or "")
    env_clean = "".join(c if c.isalnum() or c in "._-/" else "-" for c in environment)[:50]
    data = _build(
        {
            "commit_sha": deployment.get("sha"),
            "commit_message": (deployment.get("description") or None),
            "started_at": started,
            "completed_at": max(finished, started) if finished and started else finished,
            "status": status,
            "triggered_by": (creator or {}).get("login"),
            "environment": env_clean or "production",
            "service": repo.get("name") or default_service(settings),
            "external_id": external_id,
            "url": http_url_or_none(status_obj.get("target_url"))
            or http_url_or_none(status_obj.get("log_url")),
        }
    )
    if data is None:
        return None
    result = await record(
        session,
        data=data,
        source="deployment_status",
        settings=settings,
        head_commit=_head_commit(run if isinstance(run, dict) else None),
    )
    return result.deployment
