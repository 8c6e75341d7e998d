"""Incidents: opened by a failed deployment, a check going down or a critical bug.

At most one open incident per (source, source_ref): opening again returns the open one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.incidents.models import INCIDENT_SOURCES, Incident


async def find_open(session: AsyncSession, *, source: str, source_ref: str) -> Incident | None:
    stmt = (
        select(Incident)
        .where(
            Incident.source == source,
            Incident.source_ref == source_ref,
            Incident.resolved_at.is_(None),
        )
        .order_by(Incident.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_incident(
    session: AsyncSession,
    *,
    source: str,
    title: str,
    source_ref: str | None = None,
    service: str | None = None,
    environment: str = "production",
    severity: str = "high",
    deployment_id: int | None = None,
    bug_id: int | None = None,
    opened_at: datetime | None = None,
    opened_by: int | None = None,
    description: str | None = None,
) -> Incident:
    if source not in INCIDENT_SOURCES:
        raise Invalid(lazy("Unknown incident source"))
    if source_ref is not None:
        existing = await find_open(session, source=source, source_ref=source_ref)
        if existing is not None:
            return existing
    incident = Incident(
        source=source,
        source_ref=source_ref,
        title=title[:300],
        service=service,
        environment=environment,
        severity=severity,
        deployment_id=deployment_id,
        bug_id=bug_id,
        opened_at=opened_at or utcnow(),
        opened_by=opened_by,
        description=description,
    )
    session.add(incident)
    await session.flush()
    return incident


async def resolve(
    session: AsyncSession,
    *,
    incident_id: int,
    resolved_at: datetime | None = None,
    resolved_by: int | None = None,
    resolved_by_deployment_id: int | None = None,
) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(lazy("No such incident"))
    if incident.resolved_at is None:
        incident.resolved_at = max(resolved_at or utcnow(), incident.opened_at)
        incident.resolved_by = resolved_by
        incident.resolved_by_deployment_id = resolved_by_deployment_id
    return incident


async def resolve_by_source(
    session: AsyncSession,
    *,
    source: str,
    source_ref: str,
    resolved_at: datetime | None = None,
    resolved_by_deployment_id: int | None = None,
) -> Incident | None:
    incident = await find_open(session, source=source, source_ref=source_ref)
    if incident is None:
        return None
    return await resolve(
        session,
        incident_id=incident.id,
        resolved_at=resolved_at,
        resolved_by_deployment_id=resolved_by_deployment_id,
    )


async def list_incidents(
    session: AsyncSession,
    *,
    open_only: bool = False,
    source: str | None = None,
    source_ref: str | None = None,
    limit: int = 50,
) -> list[Incident]:
    stmt = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(Incident.resolved_at.is_(None))
    if source:
        stmt = stmt.where(Incident.source == source)
    if source_ref:
        stmt = stmt.where(Incident.source_ref == source_ref)
    return list((await session.execute(stmt)).scalars())


async def count_open(session: AsyncSession) -> int:
    return int(
        await session.scalar(select(func.count()).where(Incident.resolved_at.is_(None))) or 0
    )
