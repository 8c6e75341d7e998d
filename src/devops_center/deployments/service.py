"""Deployments: record (upsert by external id), list, commits, and what a result triggers.

A deployment arrives from CI (``POST /api/v1/deployments``, ``dcc deploy record``) or
from GitHub webhooks (``workflow_run``, ``deployment_status``). All of them go through
:func:`record` (:func:`devops_center.deployments.registration.record_many` of one,
the function ``dcc deploy import`` and ``dcc github backfill`` call in batches), which in
the caller's transaction

* inserts or updates the row by ``external_id`` (a retried CI step never double counts;
  the webhook of a run uses the same ``<run_id>-<run_attempt>`` id as the CI step);
* stores the commits sent with it, or enqueues ``deployments.fetch_commits`` so the
  worker asks GitHub for them;
* opens an incident for a failed or rolled-back deployment and closes it at the next
  success of the same service and environment;
* enqueues ``notify.admin`` ``{event: deployment_finished}`` once per final status;
* once a successful production deployment's commits are known (sent, or fetched by
  ``deployments.fetch_commits``), enqueues ``changelog.deployed`` (what went live, "your
  fix is live"), once per deployment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.deployments import registration, rollups
from devops_center.deployments.models import FAILURE_REASON_MAX, Deployment, DeploymentCommit

# The readers live in deployments.queries; their callers know them from here.
from devops_center.deployments.queries import Names as Names
from devops_center.deployments.queries import _get
from devops_center.deployments.queries import commit_count as commit_count
from devops_center.deployments.queries import commit_counts as commit_counts
from devops_center.deployments.queries import find_by_external_id as find_by_external_id
from devops_center.deployments.queries import get_deployment as get_deployment
from devops_center.deployments.queries import last_deployment as last_deployment
from devops_center.deployments.queries import latest as latest
from devops_center.deployments.queries import list_commits as list_commits
from devops_center.deployments.queries import list_deployments as list_deployments
from devops_center.deployments.queries import names as names
from devops_center.deployments.queries import next_successful as next_successful
from devops_center.deployments.queries import previous_successful as previous_successful
from devops_center.deployments.registration import PRODUCTION, default_service
from devops_center.deployments.schemas import CommitIn, DeploymentIn, DeploymentOut
from devops_center.inputs import http_url_or_none
from devops_center.outbox import messages
from devops_center.outbox import service as outbox

log = logging.getLogger("devops_center.deployments")

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


async def record(
    session: AsyncSession,
    *,
    data: DeploymentIn,
    source: str = "api",
    settings: Settings | None = None,
    head_commit: CommitIn | None = None,
) -> Recorded:
    """Insert or update a deployment (by ``external_id``) and everything that follows from
    it: :func:`devops_center.deployments.registration.record_many` of one.

    ``head_commit`` (known time of the deployed commit, e.g. from a webhook) is stored
    when no commits were sent and GitHub can't be asked.
    """
    [done] = await registration.record_many(
        session, [data], source=source, settings=settings, head_commits=[head_commit]
    )
    return Recorded(await _get(session, done.id), done.created)


async def record_out(
    session: AsyncSession,
    *,
    data: DeploymentIn,
    source: str = "api",
    settings: Settings | None = None,
) -> tuple[DeploymentOut, bool]:
    """:func:`record`, answered as the API shows a deployment (with its commit count);
    a new row is answered from what was inserted, without reading it back."""
    [done] = await registration.record_many(session, [data], source=source, settings=settings)
    if done.stored is not None and done.commits is not None:
        return DeploymentOut(**done.stored, id=done.id, commits=done.commits), done.created
    row = await _get(session, done.id)
    return DeploymentOut.from_row(row, await commit_count(session, deployment_id=row.id)), False


async def commits_shipped(session: AsyncSession, deployment: Deployment) -> None:
    """A successful production deployment whose commits were just fetched: the changelog
    learns what went live (once per deployment)."""
    if deployment.status != "success" or deployment.environment != PRODUCTION:
        return
    await outbox.enqueue(
        session,
        messages.ChangelogDeployed(deployment_id=deployment.id),
        unique_key=f"{messages.ChangelogDeployed.kind}:{deployment.id}",
    )


async def replace_commits(
    session: AsyncSession, *, deployment_id: int, commits: list[CommitIn]
) -> int:
    """Make ``commits`` the deployment's commits (duplicates by sha are merged)."""
    await rollups.before_change(session, [deployment_id])  # the old commits' first deploys
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


# -------------------------------------------------------------------------- webhooks


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class Unusable(ValueError):
    """A GitHub event that is a deployment but cannot be registered (a field out of
    range, a malformed SHA…): the reason, in the API's 422 wording."""


@dataclass(frozen=True)
class Mapped:
    """A GitHub event as the deployment it stands for, and its head commit when known."""

    data: DeploymentIn
    head_commit: CommitIn | None
    source: str


def _build(fields: dict[str, Any]) -> DeploymentIn:
    try:
        return DeploymentIn.model_validate(fields)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
        raise Unusable("; ".join(parts)) from exc


def _failure_description(status: str, description: Any) -> str | None:
    """GitHub's description of a failed deployment status, cut to the column."""
    if status != "failed" or not isinstance(description, str):
        return None
    text = " ".join(description.replace("\x00", "").split())
    return text[:FAILURE_REASON_MAX] or None


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


def run_external_id(run: dict[str, Any]) -> str:
    """The id of a workflow run's deployment: ``<run_id>-<run_attempt>``, as CI sends."""
    return f"{run.get('id')}-{run.get('run_attempt') or 1}"


def map_workflow_run(payload: dict[str, Any], *, settings: Settings) -> Mapped | None:
    """A ``workflow_run`` event (webhook, or a listed run in the same envelope) → the
    deployment it stands for, or None when it is none: another workflow than
    ``DCC_DEPLOY_WORKFLOW``, a pull-request run, a branch other than the default one, a
    cancelled or skipped run. Raises :class:`Unusable` for a deployment that can't be
    registered."""
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
            "external_id": run_external_id(run),
            "url": http_url_or_none(run.get("html_url")),
        }
    )
    return Mapped(data, head, "workflow_run")


def map_deployment_status(payload: dict[str, Any], *, settings: Settings) -> Mapped | None:
    """A ``deployment_status`` event → a deployment of ``deployment.environment``, or None
    for a state that is none (inactive…). Its id is the workflow run's that made it
    when the payload names one (then it is the same row as the run's ``workflow_run``
    event and the CI step), else ``gh-deployment-<id>``. Raises :class:`Unusable`."""
    status_obj = payload.get("deployment_status")
    deployment = payload.get("deployment")
    if not isinstance(status_obj, dict) or not isinstance(deployment, dict):
        return None
    status = DEPLOYMENT_STATES.get(str(status_obj.get("state")))
    if status is None:
        return None  # inactive, …
    run = payload.get("workflow_run")
    if isinstance(run, dict) and run.get("id"):
        external_id = run_external_id(run)
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
            "failure_reason": _failure_description(status, status_obj.get("description")),
        }
    )
    head = _head_commit(run if isinstance(run, dict) else None)
    return Mapped(data, head, "deployment_status")


async def _record_mapped(
    session: AsyncSession, mapped: Mapped | None, settings: Settings
) -> Deployment | None:
    if mapped is None:
        return None
    result = await record(
        session,
        data=mapped.data,
        source=mapped.source,
        settings=settings,
        head_commit=mapped.head_commit,
    )
    return result.deployment


async def record_from_workflow_run(
    session: AsyncSession, payload: dict[str, Any], *, settings: Settings
) -> Deployment | None:
    """A ``workflow_run`` webhook of the deploy workflow (``DCC_DEPLOY_WORKFLOW``) → a
    deployment with ``external_id`` ``<run_id>-<run_attempt>``, the same id the CI step
    sends, so the webhook and the API never double count (:func:`map_workflow_run`).
    Returns None for a run that is no deployment or can't be registered."""
    try:
        mapped = map_workflow_run(payload, settings=settings)
    except Unusable as exc:
        log.warning("webhook deployment ignored: %s", exc)
        return None
    return await _record_mapped(session, mapped, settings)


async def record_from_deployment_status(
    session: AsyncSession, payload: dict[str, Any], *, settings: Settings
) -> Deployment | None:
    """A ``deployment_status`` webhook → a deployment (:func:`map_deployment_status`)."""
    try:
        mapped = map_deployment_status(payload, settings=settings)
    except Unusable as exc:
        log.warning("webhook deployment ignored: %s", exc)
        return None
    return await _record_mapped(session, mapped, settings)
