"""The demo's deployment history: what `make demo` shows must be possible history."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from devops_center.deployments.demo import populate_demo
from devops_center.deployments.models import CommitFirstDeploy, Deployment, DeploymentCommit


async def test_no_demo_commit_is_made_after_the_deployment_that_ships_it(sessionmaker) -> None:
    # Seen on /admin/devops: the lead-time chart went below zero (a day's deployments are
    # drawn in any order, and a commit was placed after the last hotfix of the day).
    for seed in (5, 6, 7):
        async with sessionmaker() as s, s.begin():
            assert await populate_demo(s, now=datetime(2026, 12, 7, 4, 0, tzinfo=UTC), seed=seed)
        async with sessionmaker() as s:
            late = await s.scalar(
                select(func.count())
                .select_from(DeploymentCommit)
                .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
                .where(DeploymentCommit.committed_at > Deployment.started_at)
            )
            shortest = await s.scalar(select(func.min(CommitFirstDeploy.lead_us)))
            firsts = await s.scalar(select(func.count()).select_from(CommitFirstDeploy))
        assert late == 0, seed
        assert firsts and shortest is not None and shortest > 0, seed
        async with sessionmaker() as s, s.begin():
            for table in (DeploymentCommit, CommitFirstDeploy, Deployment):
                await s.execute(table.__table__.delete())
