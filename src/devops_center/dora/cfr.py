"""The change failure rate's two definitions (``DCC_CFR_MODE``).

* ``deployments`` (the default): failed + rolled-back deployments / finished
  deployments — what the pipeline itself reports.
* ``incidents``: finished deployments that caused an incident / finished deployments,
  as DevLake computes it. A deployment causes an incident when the incident names it
  (a failed deployment opens one with its id) or, for incidents from checks, bugs or
  by hand, when it is the last finished deployment of the incident's service and
  environment started before the incident was opened. An incident without a service
  is caused by no deployment.

Only the incidents opened in the report's range are looked at (a deployment can't
cause an incident before it started), one statement with an indexed look-up each.
"""

from __future__ import annotations

import bisect
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from devops_center.deployments.models import Deployment
from devops_center.incidents.models import Incident


async def caused_starts(
    session: AsyncSession,
    *,
    environment: str,
    service: str | None,
    lo: datetime,
    hi: datetime,
) -> list[datetime]:
    """``started_at`` of every finished deployment started in [lo, hi) that caused at
    least one incident (each deployment once)."""
    earlier = aliased(Deployment)
    last_before = (
        select(earlier.id)
        .where(
            earlier.service == Incident.service,
            earlier.environment == Incident.environment,
            earlier.started_at <= Incident.opened_at,
            earlier.status != "in_progress",
        )
        .order_by(earlier.started_at.desc(), earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    causes = (
        select(func.coalesce(Incident.deployment_id, last_before).label("cause"))
        .where(
            Incident.environment == environment,
            Incident.opened_at >= lo,
            *([Incident.service == service] if service else []),
        )
        .subquery("causes")
    )
    stmt = (
        select(Deployment.started_at)
        .where(
            Deployment.id.in_(select(causes.c.cause)),
            Deployment.environment == environment,
            Deployment.status != "in_progress",
            Deployment.started_at >= lo,
            Deployment.started_at < hi,
            *([Deployment.service == service] if service else []),
        )
        .order_by(Deployment.started_at)
    )
    return list((await session.execute(stmt)).scalars())


def bucket(starts: list[datetime], bounds: list[datetime], end: datetime) -> Counter[int]:
    """How many of ``starts`` fall in each span [bounds[i], bounds[i+1]) (the last span
    ends at ``end``); a start before ``bounds[0]`` counts nowhere."""
    counts: Counter[int] = Counter()
    for start in starts:
        if start >= end:
            continue
        i = bisect.bisect_right(bounds, start) - 1
        if i >= 0:
            counts[i] += 1
    return counts
