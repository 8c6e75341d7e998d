"""The SQL of the DORA report: every statement it runs, and nothing else.

Aggregates stay in the database (no deployment row is brought into Python); each
function returns a handful of rows whatever the size of the tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from devops_center.db import UTCDateTime
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.dora.rules import DAY, DeploymentStats
from devops_center.incidents.models import Incident


def offset_segments(zone: tzinfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """[(from_utc, utc_offset_seconds)] covering [lo, hi): DST changes split the range."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    segments = [(lo, offset(lo))]
    step = timedelta(hours=6)
    cursor = lo
    while cursor < hi:
        nxt = min(cursor + step, hi)
        if offset(nxt) != segments[-1][1]:
            a, b = cursor, nxt  # bisect to the minute
            while b - a > timedelta(minutes=1):
                mid = a + (b - a) / 2
                if offset(mid) == segments[-1][1]:
                    a = mid
                else:
                    b = mid
            segments.append((b, offset(b)))
        cursor = nxt
    return segments


def local_day(
    column: Any, dialect: str, zone: tzinfo, lo: datetime, hi: datetime
) -> ColumnElement[Any]:
    """SQL for the local calendar day of a UTC timestamp column."""
    if dialect == "postgresql":
        name = getattr(zone, "key", None) or "UTC"
        return func.date(func.timezone(name, column))
    segments = offset_segments(zone, lo, hi)

    def shifted(seconds: int) -> ColumnElement[Any]:
        if seconds == 0:
            return func.date(column)
        return func.date(column, f"{seconds:+d} seconds")

    if len(segments) == 1:
        return shifted(segments[0][1])
    whens = [
        (column < literal(segments[i + 1][0], UTCDateTime()), shifted(segments[i][1]))
        for i in range(len(segments) - 1)
    ]
    return case(*whens, else_=shifted(segments[-1][1]))


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * DAY


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --------------------------------------------------------------------------- queries


def deploy_filters(environment: str, service: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Deployment.environment == environment]
    if service:
        conditions.append(Deployment.service == service)
    return conditions


@dataclass
class Counts:
    total: int = 0
    running: int = 0
    success: int = 0
    failed: int = 0
    rolled_back: int = 0
    rework: int = 0

    def add(self, row: Sequence[Any]) -> None:
        self.total += int(row[0] or 0)
        self.running += int(row[1] or 0)
        self.success += int(row[2] or 0)
        self.failed += int(row[3] or 0)
        self.rolled_back += int(row[4] or 0)
        self.rework += int(row[5] or 0)

    def merge(self, other: Counts) -> None:
        self.total += other.total
        self.running += other.running
        self.success += other.success
        self.failed += other.failed
        self.rolled_back += other.rolled_back
        self.rework += other.rework

    @property
    def finished(self) -> int:
        return self.total - self.running

    def stats(self) -> DeploymentStats:
        return DeploymentStats(
            total=self.finished,
            success=self.success,
            failed=self.failed,
            rolled_back=self.rolled_back,
            in_progress=self.running,
        )


async def daily_rollup(
    session: AsyncSession,
    *,
    lo: datetime,
    hi: datetime,
    windows: list[datetime],
    zone: tzinfo,
    environment: str,
    service: str | None,
) -> list[tuple[date, int, Counts]]:
    """(local day, window index, counts) for deployments started in [lo, hi).

    ``windows`` are ascending window starts; the index is that of the last one ≤
    started_at (-1 before all)."""
    dialect = session.get_bind().dialect.name
    day = local_day(Deployment.started_at, dialect, zone, lo, hi)
    whens = [
        (Deployment.started_at >= start, literal(i))
        for i, start in reversed(list(enumerate(windows)))
    ]
    window = case(*whens, else_=literal(-1))
    stmt = (
        select(
            day.label("day"),
            window.label("win"),
            func.count(),
            func.sum(case((Deployment.status == "in_progress", 1), else_=0)),
            func.sum(case((Deployment.status == "success", 1), else_=0)),
            func.sum(case((Deployment.status == "failed", 1), else_=0)),
            func.sum(case((Deployment.status == "rolled_back", 1), else_=0)),
            func.sum(
                case(
                    (
                        and_(
                            Deployment.kind.in_(("rollback", "hotfix")),
                            Deployment.status != "in_progress",
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .where(
            *deploy_filters(environment, service),
            Deployment.started_at >= lo,
            Deployment.started_at < hi,
        )
        .group_by(day, window)
    )
    out = []
    for row in await session.execute(stmt):
        counts = Counts()
        counts.add(row[2:])
        out.append((_as_date(row[0]), int(row[1]), counts))
    return out


@dataclass
class Pct:
    n: int = 0
    ranks: dict[int, float] = field(default_factory=dict)

    def value(self, p: float) -> float | None:
        if not self.n:
            return None
        pos = p * (self.n - 1)
        lo = int(pos)
        hi = min(lo + 1, self.n - 1)
        a, b = self.ranks.get(lo + 1), self.ranks.get(hi + 1)
        if a is None or b is None:
            return None
        return a + (pos - lo) * (b - a)


PCTS = (50, 90)


async def percentiles(
    session: AsyncSession,
    *,
    value: Any,
    when: Any,
    conditions: list[Any],
    window_starts: list[datetime],
    week_bounds: list[datetime],
    hi: datetime,
    select_from: Any,
) -> tuple[dict[int, Pct], dict[int, Pct]]:
    """Median and p90 of ``value`` per window and per week, in one pass.

    Returns ({window index: Pct}, {week index: Pct}); only the rows at the ranks
    that the percentiles need leave the database."""
    lo = min(window_starts[0], week_bounds[0])
    win = case(
        *[(when >= s, literal(i)) for i, s in reversed(list(enumerate(window_starts)))],
        else_=literal(-1),
    )
    week = case(
        *[(when >= s, literal(i)) for i, s in reversed(list(enumerate(week_bounds)))],
        else_=literal(-1),
    )
    base = (
        select(win.label("w"), week.label("k"), value.label("v"))
        .select_from(select_from)
        .where(*conditions, when >= lo, when < hi)
        .subquery("vals")
    )
    ranked = select(
        base.c.w,
        base.c.k,
        base.c.v,
        func.row_number().over(partition_by=base.c.w, order_by=base.c.v).label("rw"),
        func.count().over(partition_by=base.c.w).label("nw"),
        func.row_number().over(partition_by=base.c.k, order_by=base.c.v).label("rk"),
        func.count().over(partition_by=base.c.k).label("nk"),
    ).subquery("ranked")

    def wanted(rank: Any, n: Any) -> ColumnElement[bool]:
        idx = [((n - 1) * p) // 100 for p in PCTS]
        matches: ColumnElement[bool] = rank.in_([i + 1 for i in idx] + [i + 2 for i in idx])
        return matches

    stmt = select(
        ranked.c.w, ranked.c.k, ranked.c.v, ranked.c.rw, ranked.c.nw, ranked.c.rk, ranked.c.nk
    ).where(wanted(ranked.c.rw, ranked.c.nw) | wanted(ranked.c.rk, ranked.c.nk))
    windows: dict[int, Pct] = defaultdict(Pct)
    weeks: dict[int, Pct] = defaultdict(Pct)
    for w, k, v, rw, nw, rk, nk in await session.execute(stmt):
        if v is None:
            continue
        pw = windows[int(w)]
        pw.n = int(nw)
        v = round(float(v), 3)  # julianday arithmetic is exact to ~10 µs only
        pw.ranks[int(rw)] = v
        pk = weeks[int(k)]
        pk.n = int(nk)
        pk.ranks[int(rk)] = v
    return windows, weeks


async def open_incident_count(
    session: AsyncSession, *, environment: str = "production", service: str | None = None
) -> int:
    stmt = select(func.count()).where(
        Incident.resolved_at.is_(None), Incident.environment == environment
    )
    if service:
        stmt = stmt.where(Incident.service == service)
    return int(await session.scalar(stmt) or 0)


async def lead_time_percentiles(
    session: AsyncSession,
    *,
    environment: str,
    service: str | None,
    window_starts: list[datetime],
    week_bounds: list[datetime],
    end: datetime,
) -> tuple[dict[int, Pct], dict[int, Pct]]:
    """Lead times of the commits first deployed successfully (per window, per week)."""
    dialect = session.get_bind().dialect.name
    earlier = aliased(Deployment)
    earlier_commit = aliased(DeploymentCommit)
    shipped_before = exists(
        select(literal(1))
        .select_from(earlier_commit)
        .join(earlier, earlier.id == earlier_commit.deployment_id)
        .where(
            earlier_commit.sha == DeploymentCommit.sha,
            earlier.service == Deployment.service,
            earlier.environment == Deployment.environment,
            earlier.status == "success",
            (earlier.started_at < Deployment.started_at)
            | and_(earlier.started_at == Deployment.started_at, earlier.id < Deployment.id),
        )
    )
    return await percentiles(
        session,
        value=seconds_between(Deployment.completed_at, DeploymentCommit.committed_at, dialect),
        when=Deployment.started_at,
        conditions=[
            *deploy_filters(environment, service),
            Deployment.status == "success",
            Deployment.completed_at.is_not(None),
            ~shipped_before,
        ],
        window_starts=window_starts,
        week_bounds=week_bounds,
        hi=end,
        select_from=DeploymentCommit.__table__.join(
            Deployment.__table__, Deployment.id == DeploymentCommit.deployment_id
        ),
    )


async def duration_percentiles(
    session: AsyncSession,
    *,
    environment: str,
    service: str | None,
    window_starts: list[datetime],
    week_bounds: list[datetime],
    end: datetime,
) -> tuple[dict[int, Pct], dict[int, Pct]]:
    """Pipeline durations of successful deployments (lead time without commit data)."""
    return await percentiles(
        session,
        value=Deployment.duration_seconds,
        when=Deployment.started_at,
        conditions=[
            *deploy_filters(environment, service),
            Deployment.status == "success",
            Deployment.duration_seconds.is_not(None),
        ],
        window_starts=window_starts,
        week_bounds=week_bounds,
        hi=end,
        select_from=Deployment,
    )


async def restore_percentiles(
    session: AsyncSession,
    *,
    environment: str,
    service: str | None,
    window_starts: list[datetime],
    week_bounds: list[datetime],
    end: datetime,
) -> tuple[dict[int, Pct], dict[int, Pct]]:
    """Time to restore of the incidents resolved (per window, per week)."""
    dialect = session.get_bind().dialect.name
    return await percentiles(
        session,
        value=seconds_between(Incident.resolved_at, Incident.opened_at, dialect),
        when=Incident.resolved_at,
        conditions=[
            Incident.resolved_at.is_not(None),
            Incident.environment == environment,
            *([Incident.service == service] if service else []),
        ],
        window_starts=window_starts,
        week_bounds=week_bounds,
        hi=end,
        select_from=Incident,
    )
