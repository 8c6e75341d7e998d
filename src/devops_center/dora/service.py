"""DORA metrics, computed by SQL aggregates. One function feeds web, API, bot and Prometheus.

CONTRACT (used by the digest, the dashboard, the API and /metrics): ``dora_report``
and the dataclasses below. Their fields may grow; existing ones keep their meaning.

How it is computed (a handful of statements whatever the table size, none of which
brings deployment rows into Python):

1. a daily roll-up: one ``GROUP BY`` (local day in the configured time zone, window)
   over the deployments of the last 13 weeks and of both windows, giving at most two
   rows per day; windows, weekly values and "days with a deployment" come from it;
2. percentiles (median, p90) of lead time, time to restore and pipeline duration with
   window functions (``row_number() over (partition by bucket order by value)``), which
   return at most a few rows per bucket;
3. the count of open incidents.

Formulas (SPEC "Formulas" and issue 5): a deployment is in a window by ``started_at``;
``in_progress`` ones count nowhere. Frequency = deployments / days; change failure rate
= (failed + rolled_back) / deployments × 100; change lead time = median over commits
first deployed successfully in the window of (that deployment's ``completed_at`` −
commit time), else the median pipeline duration (labelled); time to restore = median of
(resolved − opened) over incidents resolved in the window; rework rate = rollback and
hotfix deployments / deployments × 100. Medians interpolate between the two middle
values. Levels are the 2023 DORA bands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from devops_center import cache
from devops_center.db import UTCDateTime, utcnow
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.incidents import service as incidents
from devops_center.incidents.models import Incident

WINDOWS = (7, 30, 90)
WEEKS = 12
DAY = 86400.0
METRIC_KEYS = (
    "deployment_frequency",
    "change_failure_rate",
    "lead_time",
    "time_to_restore",
    "rework_rate",
)
# For which metrics a rise is an improvement (the dashboard colours deltas with it).
HIGHER_IS_BETTER = {
    "deployment_frequency": True,
    "change_failure_rate": False,
    "lead_time": False,
    "time_to_restore": False,
    "rework_rate": False,
}
PIPELINE_DURATION = "pipeline duration"


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

    @property
    def trend(self) -> str | None:
        """``better`` / ``worse`` / ``same`` against the previous window, or None."""
        delta = self.delta
        if delta is None:
            return None
        if abs(delta) < 1e-9:
            return "same"
        up_good = HIGHER_IS_BETTER.get(self.key, True)
        return "better" if (delta > 0) == up_good else "worse"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "unit": self.unit,
            "level": self.level,
            "previous": self.previous,
            "delta": self.delta,
            "trend": self.trend,
            "sample_size": self.sample_size,
            "label": self.label,
            "extra": dict(self.extra),
            "weekly": [{"week": w, "value": v} for w, v in self.weekly],
        }


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
    timezone: str = "UTC"
    open_incidents: int = 0
    previous_stats: DeploymentStats | None = None

    @property
    def metrics(self) -> list[Metric]:
        return [
            self.deployment_frequency,
            self.change_failure_rate,
            self.lead_time,
            self.time_to_restore,
            self.rework_rate,
        ]

    @property
    def weeks(self) -> list[str]:
        return [w for w, _v in self.deployment_frequency.weekly]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "environment": self.environment,
            "service": self.service,
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "stats": _stats_dict(self.stats),
            "previous_stats": _stats_dict(self.previous_stats) if self.previous_stats else None,
            "open_incidents": self.open_incidents,
            "metrics": {m.key: m.as_dict() for m in self.metrics},
        }


def _stats_dict(stats: DeploymentStats) -> dict[str, int]:
    return {
        "total": stats.total,
        "success": stats.success,
        "failed": stats.failed,
        "rolled_back": stats.rolled_back,
        "in_progress": stats.in_progress,
    }


# ---------------------------------------------------------------------------- levels


def lead_time_level(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < DAY:
        return "elite"
    if seconds < 7 * DAY:
        return "high"
    if seconds < 30 * DAY:
        return "medium"
    return "low"


def time_to_restore_level(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < 3600:
        return "elite"
    if seconds < DAY:
        return "high"
    if seconds < 7 * DAY:
        return "medium"
    return "low"


def change_failure_level(percent: float | None) -> str | None:
    if percent is None:
        return None
    if percent <= 5:
        return "elite"
    if percent <= 10:
        return "high"
    if percent <= 15:
        return "medium"
    return "low"


def frequency_level(days_per_week: Sequence[int]) -> str | None:
    """From the number of days with a deployment in each of the last 12 full weeks:
    median ≥ 5 elite (on demand), ≥ 1 high (weekly), at least one a month medium."""
    if not days_per_week:
        return None
    median = percentile(sorted(float(d) for d in days_per_week), 0.5)
    assert median is not None
    if median >= 5:
        return "elite"
    if median >= 1:
        return "high"
    months = len(days_per_week) * 7 / 30.4375
    if sum(days_per_week) >= months:
        return "medium"
    return "low"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (the median of 1,2,3,4 is 2.5)."""
    if not values:
        return None
    pos = p * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (pos - lo) * (values[hi] - values[lo])


# ------------------------------------------------------------------------ time zones


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, str):
        return UTC if tz in ("UTC", "Etc/UTC") else ZoneInfo(tz)
    return tz


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_starts(end: datetime, zone: tzinfo, weeks: int) -> list[date]:
    """Local Mondays of the last ``weeks`` weeks, the current (partial) week last."""
    today = end.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def _offset_segments(zone: tzinfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
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


def _local_day(
    column: Any, dialect: str, zone: tzinfo, lo: datetime, hi: datetime
) -> ColumnElement[Any]:
    """SQL for the local calendar day of a UTC timestamp column."""
    if dialect == "postgresql":
        name = getattr(zone, "key", None) or "UTC"
        return func.date(func.timezone(name, column))
    segments = _offset_segments(zone, lo, hi)

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


def _seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
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


def _deploy_filters(environment: str, service: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Deployment.environment == environment]
    if service:
        conditions.append(Deployment.service == service)
    return conditions


@dataclass
class _Counts:
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


async def _daily_rollup(
    session: AsyncSession,
    *,
    lo: datetime,
    hi: datetime,
    windows: list[datetime],
    zone: tzinfo,
    environment: str,
    service: str | None,
) -> list[tuple[date, int, _Counts]]:
    """(local day, window index, counts) for deployments started in [lo, hi).

    ``windows`` are ascending window starts; the index is that of the last one ≤
    started_at (-1 before all)."""
    dialect = session.get_bind().dialect.name
    day = _local_day(Deployment.started_at, dialect, zone, lo, hi)
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
            *_deploy_filters(environment, service),
            Deployment.started_at >= lo,
            Deployment.started_at < hi,
        )
        .group_by(day, window)
    )
    out = []
    for row in await session.execute(stmt):
        counts = _Counts()
        counts.add(row[2:])
        out.append((_as_date(row[0]), int(row[1]), counts))
    return out


@dataclass
class _Pct:
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


async def _percentiles(
    session: AsyncSession,
    *,
    value: Any,
    when: Any,
    conditions: list[Any],
    window_starts: list[datetime],
    week_bounds: list[datetime],
    hi: datetime,
    select_from: Any,
) -> tuple[dict[int, _Pct], dict[int, _Pct]]:
    """Median and p90 of ``value`` per window and per week, in one pass.

    Returns ({window index: _Pct}, {week index: _Pct}); only the rows at the ranks
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
    windows: dict[int, _Pct] = defaultdict(_Pct)
    weeks: dict[int, _Pct] = defaultdict(_Pct)
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
        func.sum(case((Deployment.status == "in_progress", 1), else_=0)),
        func.sum(case((Deployment.status == "success", 1), else_=0)),
        func.sum(case((Deployment.status == "failed", 1), else_=0)),
        func.sum(case((Deployment.status == "rolled_back", 1), else_=0)),
        literal(0),
    ).where(
        *_deploy_filters(environment, service),
        Deployment.started_at >= start,
        Deployment.started_at < end,
    )
    counts = _Counts()
    counts.add((await session.execute(stmt)).one())
    return counts.stats()


async def open_incident_count(
    session: AsyncSession, *, environment: str = "production", service: str | None = None
) -> int:
    stmt = select(func.count()).where(
        Incident.resolved_at.is_(None), Incident.environment == environment
    )
    if service:
        stmt = stmt.where(Incident.service == service)
    return int(await session.scalar(stmt) or 0)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


async def dora_report(
    session: AsyncSession,
    *,
    days: int = 30,
    environment: str = "production",
    service: str | None = None,
    now: datetime | None = None,
    tz: str | tzinfo | None = "UTC",
) -> DoraReport:
    """DORA metrics over the last ``days`` days (brief's formulas; see SPEC "Formulas").

    ``tz`` is the configured time zone (``settings.timezone``): weeks and days are local.
    """
    days = max(1, int(days))
    zone = _zone(tz)
    end = (now or utcnow()).astimezone(UTC)
    start = end - timedelta(days=days)
    prev_start = start - timedelta(days=days)

    # Weeks: the last 12 (current partial one last) for the charts, plus the 12 full
    # weeks before the current one for the frequency level → 13 local weeks.
    mondays = week_starts(end, zone, WEEKS + 1)
    week_bounds = [_local_midnight(d, zone) for d in mondays]
    chart_weeks = mondays[1:]
    lo = min(prev_start, week_bounds[0])

    rollup = await _daily_rollup(
        session,
        lo=lo,
        hi=end,
        windows=[prev_start, start],
        zone=zone,
        environment=environment,
        service=service,
    )
    current, previous = _Counts(), _Counts()
    week_counts: dict[date, _Counts] = defaultdict(_Counts)
    deploy_days: dict[date, set[date]] = defaultdict(set)
    for day, win, counts in rollup:
        if win == 1:
            _merge(current, counts)
        elif win == 0:
            _merge(previous, counts)
        monday = day - timedelta(days=day.weekday())
        _merge(week_counts[monday], counts)
        if counts.finished:
            deploy_days[monday].add(day)

    # Elapsed days of each chart week (the current one is partial).
    def week_days(monday: date) -> float:
        begin = _local_midnight(monday, zone)
        finish = min(_local_midnight(monday + timedelta(days=7), zone), end)
        return max((finish - begin).total_seconds() / DAY, 1 / 24)

    labels = [d.isoformat() for d in chart_weeks]

    def weekly(fn: Any) -> list[tuple[str, float | None]]:
        return [
            (label, fn(week_counts.get(d, _Counts()), d))
            for label, d in zip(labels, chart_weeks, strict=True)
        ]

    # ---- frequency
    full_weeks = mondays[:-1]
    days_per_week = [len(deploy_days.get(d, ())) for d in full_weeks]
    freq = Metric(
        "deployment_frequency",
        current.finished / days if current.finished else 0.0,
        "per_day",
        level=frequency_level(days_per_week) if any(days_per_week) or current.finished else None,
        previous=previous.finished / days,
        sample_size=current.finished,
        extra={
            "deployments": current.finished,
            "previous_deployments": previous.finished,
            "median_deploy_days_per_week": percentile(sorted(float(x) for x in days_per_week), 0.5),
        },
        weekly=weekly(lambda c, d: round(c.finished / week_days(d), 4)),
    )

    # ---- change failure rate
    cfr_value = _ratio(current.failed + current.rolled_back, current.finished)
    cfr = Metric(
        "change_failure_rate",
        cfr_value,
        "percent",
        level=change_failure_level(cfr_value),
        previous=_ratio(previous.failed + previous.rolled_back, previous.finished),
        sample_size=current.finished,
        extra={"failed": current.failed, "rolled_back": current.rolled_back},
        weekly=weekly(lambda c, _d: _ratio(c.failed + c.rolled_back, c.finished)),
    )

    # ---- rework rate
    rework = Metric(
        "rework_rate",
        _ratio(current.rework, current.finished),
        "percent",
        previous=_ratio(previous.rework, previous.finished),
        sample_size=current.finished,
        extra={"rework_deployments": current.rework},
        weekly=weekly(lambda c, _d: _ratio(c.rework, c.finished)),
    )

    # ---- lead time (commits first deployed successfully)
    dialect = session.get_bind().dialect.name
    chart_bounds = week_bounds[1:]
    lead = await _lead_time(
        session,
        dialect=dialect,
        environment=environment,
        service=service,
        window_starts=[prev_start, start],
        week_bounds=chart_bounds,
        end=end,
        labels=labels,
    )

    # ---- time to restore
    ttr_w, ttr_k = await _percentiles(
        session,
        value=_seconds_between(Incident.resolved_at, Incident.opened_at, dialect),
        when=Incident.resolved_at,
        conditions=[
            Incident.resolved_at.is_not(None),
            Incident.environment == environment,
            *([Incident.service == service] if service else []),
        ],
        window_starts=[prev_start, start],
        week_bounds=chart_bounds,
        hi=end,
        select_from=Incident,
    )
    open_count = await open_incident_count(session, environment=environment, service=service)
    ttr_value = ttr_w[1].value(0.5) if 1 in ttr_w else None
    ttr = Metric(
        "time_to_restore",
        ttr_value,
        "seconds",
        level=time_to_restore_level(ttr_value),
        previous=ttr_w[0].value(0.5) if 0 in ttr_w else None,
        sample_size=ttr_w[1].n if 1 in ttr_w else 0,
        extra={"open": open_count, "p90": ttr_w[1].value(0.9) if 1 in ttr_w else None},
        weekly=[
            (label, ttr_k[i].value(0.5) if i in ttr_k else None) for i, label in enumerate(labels)
        ],
    )

    return DoraReport(
        days=days,
        environment=environment,
        service=service,
        start=start,
        end=end,
        deployment_frequency=freq,
        change_failure_rate=cfr,
        lead_time=lead,
        time_to_restore=ttr,
        rework_rate=rework,
        stats=current.stats(),
        timezone=getattr(zone, "key", None) or str(zone),
        open_incidents=open_count,
        previous_stats=previous.stats(),
    )


def _merge(into: _Counts, other: _Counts) -> None:
    into.total += other.total
    into.running += other.running
    into.success += other.success
    into.failed += other.failed
    into.rolled_back += other.rolled_back
    into.rework += other.rework


async def _lead_time(
    session: AsyncSession,
    *,
    dialect: str,
    environment: str,
    service: str | None,
    window_starts: list[datetime],
    week_bounds: list[datetime],
    end: datetime,
    labels: list[str],
) -> Metric:
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
    success = [*_deploy_filters(environment, service), Deployment.status == "success"]
    by_window, by_week = await _percentiles(
        session,
        value=_seconds_between(Deployment.completed_at, DeploymentCommit.committed_at, dialect),
        when=Deployment.started_at,
        conditions=[*success, Deployment.completed_at.is_not(None), ~shipped_before],
        window_starts=window_starts,
        week_bounds=week_bounds,
        hi=end,
        select_from=DeploymentCommit.__table__.join(
            Deployment.__table__, Deployment.id == DeploymentCommit.deployment_id
        ),
    )
    current = by_window.get(1)
    if current is not None and current.n:
        value = current.value(0.5)
        return Metric(
            "lead_time",
            value,
            "seconds",
            level=lead_time_level(value),
            previous=by_window[0].value(0.5) if 0 in by_window else None,
            sample_size=current.n,
            extra={"p90": current.value(0.9), "commits": current.n},
            weekly=[
                (label, by_week[i].value(0.5) if i in by_week else None)
                for i, label in enumerate(labels)
            ],
        )
    # No commit data: the median pipeline duration of successful deployments, labelled.
    dur_w, dur_k = await _percentiles(
        session,
        value=Deployment.duration_seconds,
        when=Deployment.started_at,
        conditions=[*success, Deployment.duration_seconds.is_not(None)],
        window_starts=window_starts,
        week_bounds=week_bounds,
        hi=end,
        select_from=Deployment,
    )
    cur = dur_w.get(1)
    value = cur.value(0.5) if cur is not None else None
    return Metric(
        "lead_time",
        value,
        "seconds",
        level=None,
        previous=dur_w[0].value(0.5) if 0 in dur_w else None,
        sample_size=cur.n if cur is not None else 0,
        label=PIPELINE_DURATION if value is not None else None,
        extra={"p90": cur.value(0.9) if cur is not None else None, "commits": 0},
        weekly=[
            (label, dur_k[i].value(0.5) if i in dur_k else None) for i, label in enumerate(labels)
        ],
    )


# ----------------------------------------------------------------------------- cache

VERSION_KEY = incidents.METRICS_VERSION_KEY
CACHE_TTL = timedelta(minutes=2)


async def invalidate(session: AsyncSession) -> None:
    """Any write that changes a figure (a deployment, an incident) calls this in its own
    transaction: cached reports of the old version are never served again."""
    await incidents.metrics_changed(session)


def _metric_from_dict(data: dict[str, Any]) -> Metric:
    return Metric(
        key=data["key"],
        value=data["value"],
        unit=data["unit"],
        level=data["level"],
        previous=data["previous"],
        sample_size=data["sample_size"],
        label=data["label"],
        extra=dict(data["extra"]),
        weekly=[(w["week"], w["value"]) for w in data["weekly"]],
    )


def report_from_dict(data: dict[str, Any]) -> DoraReport:
    """The inverse of :meth:`DoraReport.as_dict`."""
    metrics = {k: _metric_from_dict(v) for k, v in data["metrics"].items()}
    previous = data.get("previous_stats")
    return DoraReport(
        days=data["days"],
        environment=data["environment"],
        service=data["service"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        deployment_frequency=metrics["deployment_frequency"],
        change_failure_rate=metrics["change_failure_rate"],
        lead_time=metrics["lead_time"],
        time_to_restore=metrics["time_to_restore"],
        rework_rate=metrics["rework_rate"],
        stats=DeploymentStats(**data["stats"]),
        timezone=data["timezone"],
        open_incidents=data["open_incidents"],
        previous_stats=DeploymentStats(**previous) if previous else None,
    )


async def cached_report(
    session: AsyncSession,
    *,
    days: int = 30,
    environment: str = "production",
    service: str | None = None,
    tz: str = "UTC",
    now: datetime | None = None,
) -> DoraReport:
    """:func:`dora_report`, kept for the rest of the minute in the shared key-value store
    (so any number of web processes, the bot and Prometheus share it) and dropped as
    soon as a deployment or an incident is written (:func:`invalidate`). Views of the
    dashboard, API polls and scrapes then cost one indexed lookup instead of the
    aggregates; the figures are those of at most a minute ago."""
    moment = (now or utcnow()).astimezone(UTC)
    version = await cache.get(session, key=VERSION_KEY) or "0"
    key = (
        f"dora.report:{version}:{days}:{environment}:{service or ''}:{tz}:"
        f"{int(moment.timestamp() // 60)}"
    )[:200]
    hit = await cache.get(session, key=key)
    if isinstance(hit, dict):
        try:
            report = report_from_dict(hit)
        except (KeyError, TypeError, ValueError):
            report = None
        if report is not None and report.service == (service or None):
            return report
    report = await dora_report(
        session, days=days, environment=environment, service=service, now=moment, tz=tz
    )
    await cache.put(session, key=key, value=report.as_dict(), ttl=CACHE_TTL)
    return report
