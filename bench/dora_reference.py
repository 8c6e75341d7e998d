"""The DORA bench's independent check at its largest size: the report's five figures
recomputed from the raw rows (deployments, deployment_commits, incidents) in Python by
the SPEC's formulas — no roll-up day, no first-deployment table, no SQL aggregate — as
``tests/dora/test_rollups.py`` does on a small randomized history in ``make test``.

Only the window's rows and the commits they shipped are read (every other deployment of
those commits included, whatever its date: a commit's first successful deployment to a
service and environment may be years older), so the check costs seconds at 1M.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.dora import service as dora
from devops_center.dora.rules import percentile
from devops_center.incidents.models import Incident

FIGURES = ("frequency", "change_failure_rate", "lead_time", "time_to_restore", "rework_rate")
CHUNK = 500


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


async def recomputed(
    s: AsyncSession, *, days: int, environment: str, service: str | None, now: datetime
) -> dict[str, float | None]:
    start = now - timedelta(days=days)
    d = Deployment
    where = [d.environment == environment, d.started_at >= start, d.started_at < now]
    if service is not None:
        where.append(d.service == service)
    window = (
        await s.execute(
            select(
                d.id, d.service, d.started_at, d.completed_at, d.status, d.kind, d.duration_seconds
            ).where(*where)
        )
    ).all()
    done = [w for w in window if w.status != "in_progress"]
    n = len(done)
    bad = sum(w.status in ("failed", "rolled_back") for w in done)
    rework = sum(w.kind in ("rollback", "hotfix") for w in done)
    shipped = [w for w in done if w.status == "success"]
    by_id = {w.id: w for w in shipped}
    commits: list[Any] = []
    for ids in _chunks(sorted(by_id)):
        commits += (
            await s.execute(
                select(
                    DeploymentCommit.deployment_id,
                    DeploymentCommit.sha,
                    DeploymentCommit.committed_at,
                ).where(DeploymentCommit.deployment_id.in_(ids))
            )
        ).all()
    # every successful deployment of those commits to this environment, at any date
    earliest: dict[tuple[str, str], tuple[datetime, int]] = {}
    for shas in _chunks(sorted({c.sha for c in commits})):
        holders = await s.execute(
            select(DeploymentCommit.sha, d.id, d.service, d.started_at)
            .join(d, d.id == DeploymentCommit.deployment_id)
            .where(
                DeploymentCommit.sha.in_(shas),
                d.status == "success",
                d.environment == environment,
            )
        )
        for sha, dep_id, dep_service, started in holders:
            key = (dep_service, sha)
            if key not in earliest or (started, dep_id) < earliest[key]:
                earliest[key] = (started, dep_id)
    leads = sorted(
        (by_id[c.deployment_id].completed_at - c.committed_at).total_seconds()
        for c in commits
        if earliest[(by_id[c.deployment_id].service, c.sha)][1] == c.deployment_id
        and by_id[c.deployment_id].completed_at is not None
    )
    if not leads:
        leads = sorted(float(w.duration_seconds) for w in shipped if w.duration_seconds is not None)
    i = Incident
    incident_where = [
        i.environment == environment,
        i.resolved_at.is_not(None),
        i.resolved_at >= start,
        i.resolved_at < now,
    ]
    if service is not None:
        incident_where.append(i.service == service)
    restores = sorted(
        (resolved - opened).total_seconds()
        for opened, resolved in (
            await s.execute(select(i.opened_at, i.resolved_at).where(*incident_where))
        ).all()
    )
    lead, ttr = percentile(leads, 0.5), percentile(restores, 0.5)
    return {
        "frequency": n / days,
        "change_failure_rate": bad / n * 100 if n else None,
        "lead_time": None if lead is None else round(lead, 3),
        "time_to_restore": None if ttr is None else round(ttr, 3),
        "rework_rate": rework / n * 100 if n else None,
    }


async def reported(
    s: AsyncSession, *, days: int, environment: str, service: str | None, now: datetime
) -> dict[str, float | None]:
    report = await dora.dora_report(
        s, days=days, environment=environment, service=service, now=now, tz="UTC"
    )
    return {
        "frequency": report.deployment_frequency.value or 0.0,
        "change_failure_rate": report.change_failure_rate.value,
        "lead_time": report.lead_time.value,
        "time_to_restore": report.time_to_restore.value,
        "rework_rate": report.rework_rate.value,
    }


def differences(a: dict[str, float | None], b: dict[str, float | None]) -> list[str]:
    """The figures that differ by more than 0.001 (or where one side has none)."""
    out = []
    for name in FIGURES:
        x, y = a[name], b[name]
        if (x is None) != (y is None) or (x is not None and y is not None and abs(x - y) > 1e-3):
            out.append(f"{name}: report {x} ≠ raw rows {y}")
    return out
