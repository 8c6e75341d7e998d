"""``deployments.fetch_commits`` {deployment_id}: the commits a deployment shipped.

Compares the previous successful deployment of the same service and environment with
this one through GitHub's compare API and stores the commits with their times (change
lead time). A service's first deployment stores its head commit only. Safe to run
twice: a deployment that already has commits is left alone. Without ``announce``
(history imported by ``dcc github backfill``) the changelog is not told what went live.
"""

from __future__ import annotations

import logging
from typing import Any

from devops_center.deployments import service as deployments
from devops_center.deployments.models import Deployment
from devops_center.deployments.schemas import CommitIn
from devops_center.errors import NotFound
from devops_center.integrations.github.compare import (
    CompareClient,
    GithubAuthError,
    GithubNotFound,
    GithubRateLimited,
)
from devops_center.outbox import messages as m
from devops_center.outbox.registry import JobContext, PermanentFailure, RetryLater, handles

log = logging.getLogger("devops_center.deployments")


def _as_input(commits: list[Any]) -> list[CommitIn]:
    out = []
    for c in commits:
        out.append(
            CommitIn(
                sha=c.sha,
                committed_at=c.committed_at,
                message=(c.message or "")[:10_000] or None,
                author=(c.author or "")[:200] or None,
            )
        )
    return out


@handles(m.FetchDeploymentCommits)
async def fetch_commits(ctx: JobContext, msg: m.FetchDeploymentCommits) -> None:
    settings = ctx.settings
    deployment_id = msg.deployment_id
    if not settings.github_enabled().enabled or not settings.github_repo:
        log.info("fetch_commits %s skipped: %s", deployment_id, settings.github_enabled().why)
        return
    async with ctx.sessionmaker() as session:
        try:
            deployment = await deployments.get_deployment(session, deployment_id=deployment_id)
        except NotFound:
            return  # deleted since
        if await deployments.commit_count(session, deployment_id=deployment_id):
            return
        previous = await deployments.previous_successful(session, deployment=deployment)
        head_sha = deployment.commit_sha
        base_sha = previous.commit_sha if previous is not None else None

    token = settings.github_token.get_secret_value() if settings.github_token else None
    try:
        async with CompareClient(
            api_url=settings.github_api_url,
            token=token,
            repo=settings.github_repo,
        ) as client:
            if base_sha is None:
                commits = [await client.commit(head_sha)]
            elif (
                base_sha == head_sha
                or head_sha.startswith(base_sha)
                or base_sha.startswith(head_sha)
            ):
                commits = []  # a redeploy of the same commit ships nothing new
            else:
                comparison = await client.compare(base_sha, head_sha)
                commits = comparison.commits if comparison.status != "behind" else []
    except GithubRateLimited as exc:
        raise RetryLater(str(exc), delay=exc.retry_after) from exc
    except (GithubNotFound, GithubAuthError) as exc:
        raise PermanentFailure(str(exc)) from exc

    async with ctx.sessionmaker() as session, session.begin():
        if await deployments.commit_count(session, deployment_id=deployment_id):
            return  # another worker or the API got there first
        stored = await deployments.replace_commits(
            session, deployment_id=deployment_id, commits=_as_input(commits)
        )
        found = await session.get(Deployment, deployment_id)
        if found is not None and msg.announce:
            await deployments.commits_shipped(session, found)
    log.info("deployment %s: %s commit(s) from GitHub", deployment_id, stored)
