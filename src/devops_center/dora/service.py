"""DORA metrics, computed by SQL aggregates. One function feeds web, API, bot and Prometheus.

CONTRACT (used by the digest, the dashboard, the API and /metrics): ``dora_report``
and the dataclasses below. Their fields may grow; existing ones keep their meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.deployments.models import Deployment


@dataclass(frozen=True)
class Metric:
    """One DORA figure. ``value`` is None when there is no data (never a fake 0)."""

    # deployment_frequency | change_failure_rate | lead_time | time_to_restore | rework_rate
    key: str
    value: float | None
    unit: str  # per_day | percent | seconds
    level: str | None = None  # elite | high | medium | low
    previous: float | None = None  # the same metric over the previous window
    sample_size: int = 0
    label: str | None = None  # e.g. "pipeline duration" when lead time falls back
    extra: dict[str, float | int | None] = field(default_factory=dict)
    weekly: list[tuple[str, float | None]] = field(default_factory=list)  # (week start, value)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True)
class DeploymentStats:
    total: int
    success: int
    failed: int
    rolled_back: int
    in_progress: int


@dataclass(frozen=True)
class DoraReport:
    days: int
    environment: str
    service: str | None
    start: datetime
    end: datetime
    deployment_frequency: Metric
    change_failure_rate: Metric
    lead_time: Metric
    time_to_restore: Metric
    rework_rate: Metric
    stats: DeploymentStats

    @property
    def metrics(self) -> list[Metric]:
        return [
            self.deployment_frequency,
            self.change_failure_rate,
            self.lead_time,
            self.time_to_restore,
            self.rework_rate,
        ]


async def deployment_stats(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    environment: str = "production",
    service: str | None = None,
) -> DeploymentStats:
    """Counts by status of deployments started in [start, end)."""
    stmt = select(
        func.count(),
        func.sum(case((Deployment.status == "success", 1), else_=0)),
        func.sum(case((Deployment.status == "failed", 1), else_=0)),
        func.sum(case((Deployment.status == "rolled_back", 1), else_=0)),
        func.sum(case((Deployment.status == "in_progress", 1), else_=0)),
    ).where(
        Deployment.environment == environment,
        Deployment.started_at >= start,
        Deployment.started_at < end,
    )
    if service:
        stmt = stmt.where(Deployment.service == service)
    total, ok, failed, rolled, running = (await session.execute(stmt)).one()
    return DeploymentStats(
        total=int(total or 0) - int(running or 0),
        success=int(ok or 0),
        failed=int(failed or 0),
        rolled_back=int(rolled or 0),
        in_progress=int(running or 0),
    )


async def dora_report(
    session: AsyncSession,
    *,
    days: int = 30,
    environment: str = "production",
    service: str | None = None,
    now: datetime | None = None,
) -> DoraReport:
    """DORA metrics over the last ``days`` days (brief's formulas; see SPEC "Formulas")."""
    end = now or utcnow()
    start = end - timedelta(days=days)
    stats = await deployment_stats(
        session, start=start, end=end, environment=environment, service=service
    )
    freq = stats.total / days if days else None
    cfr = (stats.failed + stats.rolled_back) / stats.total * 100 if stats.total else None
    return DoraReport(
        days=days,
        environment=environment,
        service=service,
        start=start,
        end=end,
        deployment_frequency=Metric(
            "deployment_frequency", freq, "per_day", sample_size=stats.total
        ),
        change_failure_rate=Metric("change_failure_rate", cfr, "percent", sample_size=stats.total),
        lead_time=Metric("lead_time", None, "seconds"),
        time_to_restore=Metric("time_to_restore", None, "seconds"),
        rework_rate=Metric("rework_rate", None, "percent"),
        stats=stats,
    )
