"""Reading deployments: one, a page, the latest, their commits, the names for pickers.

Every function here is a handful of indexed lookups whatever the size of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import Page
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.errors import NotFound
from devops_center.i18n import lazy


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


# The orders a list can be shown in; the id breaks ties so that pages never overlap.
SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (Deployment.started_at.desc(), Deployment.id.desc()),
    "oldest": (Deployment.started_at.asc(), Deployment.id.asc()),
    "slowest": (
        Deployment.duration_seconds.is_(None),
        Deployment.duration_seconds.desc(),
        Deployment.id.desc(),
    ),
    "service": (Deployment.service.asc(), Deployment.started_at.desc(), Deployment.id.desc()),
}


async def list_deployments(
    session: AsyncSession,
    *,
    service: str | None = None,
    environment: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: str = "newest",
    page: int = 1,
    per_page: int = 50,
) -> Page[Deployment]:
    """Filtered (``since`` ≤ started < ``until``), sorted by ``sort`` (one of
    :data:`SORTS`; newest first by default); ``page`` counts from 1."""
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
    if until is not None:
        conditions.append(Deployment.started_at < until)
    total = int(
        await session.scalar(select(func.count()).select_from(Deployment).where(*conditions)) or 0
    )
    stmt = (
        select(Deployment)
        .where(*conditions)
        .order_by(*SORTS.get(sort, SORTS["newest"]))
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


# Distinct names by a loose index scan of the daily roll-ups (one index seek per name,
# on a table a few hundred times smaller than the deployments): fresh after every
# write, without a cache. The environment rows (service '') list the environments.
# Both lists in one statement (one round trip): 0 = services, 1 = environments, each in
# the order its recursion found them (the database's collation).
_DISTINCT_NAMES = text(
    "WITH RECURSIVE "
    "s(x, n) AS (SELECT min(service), 0 FROM deployment_days WHERE service > '' "
    "UNION ALL SELECT (SELECT min(service) FROM deployment_days WHERE service > s.x), n + 1 "
    "FROM s WHERE s.x IS NOT NULL), "
    "e(x, n) AS (SELECT min(environment), 0 FROM deployment_days WHERE service = '' "
    "UNION ALL SELECT (SELECT min(environment) FROM deployment_days "
    "WHERE service = '' AND environment > e.x), n + 1 "
    "FROM e WHERE e.x IS NOT NULL) "
    "SELECT 0, n, x FROM s WHERE x IS NOT NULL "
    "UNION ALL SELECT 1, n, x FROM e WHERE x IS NOT NULL ORDER BY 1, 2"
)


@dataclass(frozen=True)
class Names:
    """The service and environment names seen, for the pickers."""

    services: list[str]
    environments: list[str]


async def names(session: AsyncSession) -> Names:
    """Service and environment names of the stored deployments, for the pickers."""
    found: tuple[list[str], list[str]] = ([], [])
    for kind, _n, name in await session.execute(_DISTINCT_NAMES):
        found[kind].append(str(name))
    return Names(services=found[0], environments=found[1])
