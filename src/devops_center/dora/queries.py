"""The SQL of the DORA report: every statement it runs, and nothing else.

A window reads the daily roll-ups of its whole days and the raw rows of its edges
(:func:`plan`), never the history before it: the cost follows the window, not the
size of the tables. See :mod:`devops_center.deployments.rollups` for how the roll-ups
stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import UTCDateTime
from devops_center.deployments import localdays
from devops_center.deployments.models import CommitFirstDeploy, Deployment, DeploymentDay
from devops_center.deployments.rollup_values import (
    ALL_SERVICES,
    chunks,
    joined_values,
    split_values,
)
from devops_center.dora import day_cache
from devops_center.dora.rules import DeploymentStats


def _given(service: Any) -> bool:
    """A service to filter by: a name, or the bound parameter of one."""
    return isinstance(service, BindParameter) or bool(service)


def deploy_filters(environment: Any, service: Any) -> list[ColumnElement[bool]]:
    """The deployments of an environment, and of a service when one is given (a name, or
    a bound parameter)."""
    conditions: list[ColumnElement[bool]] = [Deployment.environment == environment]
    if _given(service):
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


# ----------------------------------------------------------- what a window reads


@dataclass(frozen=True)
class Plan:
    """Where the rows of [lo, hi) come from: whole local days from the roll-ups
    (``days``: day → window index), the rest — the partial days at the window edges
    and today — from the raw rows (``ranges``: [a, b) with its window index)."""

    days: dict[date, int]
    ranges: list[tuple[datetime, datetime, int]]


def plan(
    lo: datetime, hi: datetime, windows: list[datetime], zone: tzinfo, *, rollups: bool
) -> Plan:
    """``windows`` are ascending window starts; a row's window is the index of the last
    start ≤ its time (-1 before all)."""
    cuts = sorted({lo, hi, *(w for w in windows if lo < w < hi)})
    days: dict[date, int] = {}
    ranges: list[tuple[datetime, datetime, int]] = []
    for a, b in pairwise(cuts):
        win = max((i for i, w in enumerate(windows) if w <= a), default=-1)
        first = localdays.local_date(a, zone)
        if localdays.local_midnight(first, zone) < a:
            first += timedelta(days=1)
        stop = localdays.local_date(b, zone)  # days before it end by b
        if not rollups or first >= stop:
            ranges.append((a, b, win))
            continue
        start_first = localdays.local_midnight(first, zone)
        if a < start_first:
            ranges.append((a, start_first, win))
        day = first
        while day < stop:
            days[day] = win
            day += timedelta(days=1)
        start_stop = localdays.local_midnight(stop, zone)
        if start_stop < b:
            ranges.append((start_stop, b, win))
    return Plan(days, ranges)


Ranges = Sequence[tuple[Any, Any, Any]]  # (from, to, window): values, or bound parameters


def _in_ranges(column: Any, ranges: Ranges) -> ColumnElement[bool]:
    return or_(*(and_(column >= a, column < b) for a, b, _w in ranges))


def _value(w: Any) -> Any:
    return w if isinstance(w, BindParameter) else literal(w)


def _window_of(column: Any, ranges: Ranges) -> ColumnElement[Any]:
    return case(*((and_(column >= a, column < b), _value(w)) for a, b, w in ranges), else_=-1)


@dataclass
class Day:
    """One local day of the window: its counts and the values its medians need."""

    window: int
    counts: Counts = field(default_factory=lambda: Counts())
    leads: list[int] = field(default_factory=list)  # µs, from raw rows
    durations: list[int] = field(default_factory=list)  # s, from raw rows
    kept: Sequence[int] | None = None  # the roll-up's values (leads or durations), sorted

    def runs(self, *, durations: bool = False) -> list[Sequence[int]]:
        """The day's values (lead times, or durations when asked) as sorted runs."""
        raw = self.durations if durations else self.leads
        return [*([self.kept] if self.kept else []), *([sorted(raw)] if raw else [])]


async def window_days(
    session: AsyncSession,
    the_plan: Plan,
    *,
    zone: tzinfo,
    environment: str,
    service: str | None,
    values_from: datetime,
    durations: bool = False,
) -> dict[tuple[date, int], Day]:
    """Counts per (local day, window) of the plan, and the lead times (or durations, when
    asked) of the days from ``values_from`` on — the older days of the span only count
    deployment days: one statement on the roll-ups, two on the raw rows of the edges."""
    dialect = session.get_bind().dialect.name
    out: dict[tuple[date, int], Day] = {}

    def day_of(day: date, win: int) -> Day:
        found = out.get((day, win))
        if found is None:
            found = out[(day, win)] = Day(win)
        return found

    values_day = localdays.local_date(values_from, zone)
    if the_plan.days:
        await _rollup_days(
            session,
            the_plan,
            day_of,
            zone=zone,
            environment=environment,
            service=service,
            values_day=values_day,
            durations=durations,
        )
    ranges = the_plan.ranges
    if not ranges:
        return out
    counts, params = _edge_statement(_edge_counts, dialect, zone, ranges, environment, service)
    for row in await session.execute(counts, params):
        day_of(localdays.as_date(row[0]), int(row[1])).counts.add(row[2:])
    ranges = [(a, b, w) for a, b, w in ranges if b > values_from]
    if not ranges:
        return out
    if durations:
        stmt = select(Deployment.started_at, Deployment.duration_seconds).where(
            *deploy_filters(environment, service),
            Deployment.status == "success",
            Deployment.duration_seconds.is_not(None),
            _in_ranges(Deployment.started_at, ranges),
        )
        for started, seconds in await session.execute(stmt):
            day_of(localdays.local_date(started, zone), _win(started, ranges)).durations.append(
                int(seconds or 0)
            )
        return out
    leads, params = _edge_statement(_edge_leads, dialect, zone, ranges, environment, service)
    for day, win, values in await session.execute(leads, params):
        day_of(localdays.as_date(day), int(win)).leads.extend(split_values(values))
    return out


def _edge_counts(dialect: str, zone: Any, ranges: Ranges, environment: Any, service: Any) -> Any:
    """Counts per (local day, window) of the raw deployments in the ranges."""
    if dialect == "postgresql":
        day_sql: Any = func.date(func.timezone(zone, Deployment.started_at))
    else:
        lo, hi = min(a for a, _b, _w in ranges), max(b for _a, b, _w in ranges)
        day_sql = localdays.local_day_sql(Deployment.started_at, dialect, zone, lo, hi)
    win_sql = _window_of(Deployment.started_at, ranges)
    return (
        select(
            day_sql,
            win_sql,
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
        .where(*deploy_filters(environment, service), _in_ranges(Deployment.started_at, ranges))
        .group_by(day_sql, win_sql)
    )


def _edge_leads(dialect: str, zone: Any, ranges: Ranges, environment: Any, service: Any) -> Any:
    """The lead times per (local day, window) of the commits first deployed in the ranges."""
    f = CommitFirstDeploy

    def local_day(a: Any, b: Any) -> Any:
        if dialect == "postgresql":
            return func.date(func.timezone(zone, f.started_at))
        return localdays.local_day_sql(f.started_at, dialect, zone, a, b)

    # One branch per edge: each an index-only range scan (an OR of ranges makes
    # PostgreSQL visit the table, one page per row: first deployments are stored in
    # commit order, not in time order), its lead times joined by the database into one
    # text a day — a row a day to send and parse, not one per commit.
    return union_all(
        *(
            select(
                day := local_day(a, b),
                _value(w),
                joined_values(f.lead_us, dialect),
            )
            .where(
                f.environment == environment,
                *([f.service == service] if _given(service) else []),
                f.started_at >= a,
                f.started_at < b,
                f.lead_us.is_not(None),
            )
            .group_by(day)
            for a, b, w in ranges
        )
    )


def _bound_ranges(n: int) -> list[tuple[Any, Any, Any]]:
    return [
        (
            bindparam(f"a{i}", type_=UTCDateTime()),
            bindparam(f"b{i}", type_=UTCDateTime()),
            bindparam(f"w{i}", type_=Integer()),
        )
        for i in range(n)
    ]


def _edge_statement(
    build: Callable[[str, Any, Ranges, Any, Any], Any],
    dialect: str,
    zone: tzinfo,
    ranges: Ranges,
    environment: str,
    service: str | None,
) -> tuple[Any, dict[str, Any]]:
    """The statement ``build`` makes for the ranges, and its parameters. On PostgreSQL it
    is built once per shape, its values bound: building it and its cache key cost more
    than running it. (SQLite's local day depends on the zone's offsets in the ranges.)"""
    if dialect != "postgresql":
        return build(dialect, zone, ranges, environment, service), {}
    params: dict[str, Any] = {"zone": localdays.zone_name(zone), "environment": environment}
    if service:
        params["service"] = service
    for i, (a, b, w) in enumerate(ranges):
        params.update({f"a{i}": a, f"b{i}": b, f"w{i}": w})
    return _bound_statement(build, len(ranges), bool(service)), params


@lru_cache(maxsize=32)
def _bound_statement(
    build: Callable[[str, Any, Ranges, Any, Any], Any], n: int, by_service: bool
) -> Any:
    return build(
        "postgresql",
        bindparam("zone", type_=String()),
        _bound_ranges(n),
        bindparam("environment"),
        bindparam("service", type_=String()) if by_service else None,
    )


async def _rollup_days(
    session: AsyncSession,
    the_plan: Plan,
    day_of: Callable[[date, int], Day],
    *,
    zone: tzinfo,
    environment: str,
    service: str | None,
    values_day: date,
    durations: bool,
) -> None:
    """The whole days of the plan from the roll-ups: their revisions first, then the
    full rows of the days this process has not kept at that revision (none, most of
    the time: today is read raw) — :mod:`devops_center.dora.day_cache`."""
    t = DeploymentDay
    scope = (
        t.environment == environment,
        # all services: the environment's own rows, one a day
        t.service == (service or ALL_SERVICES),
    )
    conn = await session.connection()
    kept_days = day_cache.DAYS.scope(
        (
            conn.engine.url.render_as_string(hide_password=True),
            localdays.zone_name(zone),
            environment,
            service or ALL_SERVICES,
            durations,
        )
    )
    need: list[date] = []
    stamps = select(t.day, t.revision).where(
        *scope, t.day >= min(the_plan.days), t.day <= max(the_plan.days)
    )
    for day_value, revision in await session.execute(stamps):
        day = localdays.as_date(day_value)
        win = the_plan.days.get(day)
        if win is None:  # a partial day inside the span: read raw
            continue
        hit = kept_days.get(day)
        if (
            hit is None
            or revision is None
            or hit.revision != revision
            or (hit.values is None and day >= values_day)
        ):
            need.append(day)
            continue
        _take(day_of(day, win), hit)
    values = t.durations if durations else t.leads
    for part in chunks(need):
        stmt: Any = select(
            t.day,
            t.revision,
            t.total,
            t.running,
            t.success,
            t.failed,
            t.rolled_back,
            t.rework,
            # the older days' values are not parsed, nor even sent
            case((t.day >= values_day, values), else_=None),
        ).where(*scope, t.day.in_(part))
        for row in await session.execute(stmt):
            day = localdays.as_date(row[0])
            found = day_cache.kept(
                row[1] or 0, row[2:8], split_values(row[8]) if day >= values_day else None
            )
            if row[1] is not None:
                kept_days[day] = found
            _take(day_of(day, the_plan.days[day]), found)


def _take(entry: Day, found: day_cache.KeptDay) -> None:
    entry.counts.add(found.counts)
    if found.values:
        entry.kept = found.values


def _win(at: datetime, ranges: list[tuple[datetime, datetime, int]]) -> int:
    for a, b, w in ranges:
        if a <= at < b:
            return w
    return -1
