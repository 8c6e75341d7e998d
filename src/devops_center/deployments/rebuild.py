"""Recompute the roll-ups of :mod:`devops_center.deployments.rollups` from the raw rows.

A few bulk statements (the whole history in one pass each): the migration that creates
the roll-ups, ``dcc dora rebuild`` (e.g. after changing ``DCC_TIMEZONE``) and the
benchmark's generated histories use it. The result is the same rows the incremental
upkeep leaves (tests/dora/test_rollups.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Text,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.deployments.localdays import local_day_sql, zone_name, zone_of
from devops_center.deployments.models import (
    CommitFirstDeploy,
    Deployment,
    DeploymentCommit,
    DeploymentDay,
    RollupState,
)
from devops_center.deployments.rollup_values import ALL_SERVICES


def _lead_us_sql(completed: Any, committed: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        # extract() is numeric (exact) on PostgreSQL ≥ 14
        return cast(extract("epoch", completed - committed) * 1_000_000, BigInteger)

    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds + the microsecond digits,
    # integers all the way (julianday() would be ~40 µs off).
    def parts(col: Any) -> tuple[Any, Any]:
        return (
            cast(func.strftime("%s", col), Integer),
            cast(func.substr(col, 21, 6), Integer),
        )

    cs, cu = parts(completed)
    ms, mu = parts(committed)
    total: ColumnElement[Any] = (cs - ms) * 1_000_000 + (cu - mu)
    return total


@dataclass(frozen=True)
class Rebuilt:
    timezone: str
    days: int
    firsts: int


def rebuild(conn: Connection, timezone: str | tzinfo = "UTC") -> Rebuilt:
    """Recompute both tables from the raw rows, days in ``timezone`` (a few bulk
    statements: the migration, ``dcc dora rebuild`` and the benchmark use it)."""
    zone = zone_of(timezone)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SET LOCAL jit = off"))
    conn.execute(delete(DeploymentDay))
    conn.execute(delete(CommitFirstDeploy))

    d, c = Deployment.__table__, DeploymentCommit.__table__
    ranked = (
        select(
            d.c.service,
            d.c.environment,
            c.c.sha,
            d.c.id.label("deployment_id"),
            d.c.started_at,
            case(
                (
                    d.c.completed_at.is_not(None),
                    _lead_us_sql(d.c.completed_at, c.c.committed_at, dialect),
                ),
                else_=None,
            ).label("lead_us"),
            func.row_number()
            .over(
                partition_by=(d.c.service, d.c.environment, c.c.sha),
                order_by=(d.c.started_at, d.c.id),
            )
            .label("rn"),
        )
        .select_from(c.join(d, d.c.id == c.c.deployment_id))
        .where(d.c.status == "success")
        .subquery("ranked")
    )
    columns = ("service", "environment", "sha", "deployment_id", "started_at", "lead_us")
    conn.execute(
        insert(CommitFirstDeploy).from_select(
            list(columns),
            select(*(ranked.c[name] for name in columns)).where(ranked.c.rn == 1),
        )
    )

    span = conn.execute(select(func.min(d.c.started_at), func.max(d.c.started_at))).one()
    lo, hi = span
    if lo is not None:
        lo = _aware(lo) - timedelta(days=1)
        hi = _aware(hi) + timedelta(days=1)
        _rebuild_days(conn, zone, lo, hi, whole_environment=False)
        _rebuild_days(conn, zone, lo, hi, whole_environment=True)
    state = {"timezone": zone_name(zone), "rebuilt_at": utcnow()}
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(RollupState)
    conn.execute(ins.values(id=1, **state).on_conflict_do_update(index_elements=["id"], set_=state))
    return Rebuilt(
        timezone=zone_name(zone),
        days=int(conn.execute(select(func.count()).select_from(DeploymentDay)).scalar() or 0),
        firsts=int(conn.execute(select(func.count()).select_from(CommitFirstDeploy)).scalar() or 0),
    )


def _aware(value: Any) -> datetime:
    at: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _concat(value: Any, dialect: str) -> ColumnElement[Any]:
    """The comma-separated non-null values of a group (ascending on PostgreSQL; readers
    sort anyway, and a sorted list sorts in one pass)."""
    if dialect == "postgresql":
        return func.string_agg(cast(value, Text), aggregate_order_by(literal(","), value))
    return func.group_concat(value, ",")


def _rebuild_days(
    conn: Connection, zone: tzinfo, lo: datetime, hi: datetime, *, whole_environment: bool
) -> None:
    """The rows of each service's days, or (``whole_environment``) of each environment's
    days under :data:`~devops_center.deployments.rollup_values.ALL_SERVICES`."""
    dialect = conn.dialect.name
    d, f = Deployment.__table__, CommitFirstDeploy.__table__
    d_service: Any = literal(ALL_SERVICES) if whole_environment else d.c.service
    f_service: Any = literal(ALL_SERVICES) if whole_environment else f.c.service
    day = local_day_sql(d.c.started_at, dialect, zone, lo, hi).label("day")
    finished = d.c.status != "in_progress"

    def count_if(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    per_day = (
        select(
            d_service.label("service"),
            d.c.environment,
            day,
            func.count().label("total"),
            count_if(d.c.status == "in_progress").label("running"),
            count_if(d.c.status == "success").label("success"),
            count_if(d.c.status == "failed").label("failed"),
            count_if(d.c.status == "rolled_back").label("rolled_back"),
            count_if(and_(finished, d.c.kind.in_(("rollback", "hotfix")))).label("rework"),
            _concat(
                case(
                    (
                        and_(d.c.status == "success", d.c.duration_seconds.is_not(None)),
                        d.c.duration_seconds,
                    ),
                    else_=None,
                ),
                dialect,
            ).label("durations"),
        )
        .group_by(d_service, d.c.environment, day)
        .subquery("per_day")
    )
    lead_day = local_day_sql(f.c.started_at, dialect, zone, lo, hi).label("day")
    leads = (
        select(
            f_service.label("service"),
            f.c.environment,
            lead_day,
            _concat(f.c.lead_us, dialect).label("leads"),
        )
        .where(f.c.lead_us.is_not(None))
        .group_by(f_service, f.c.environment, lead_day)
        .subquery("leads")
    )
    names = ("total", "running", "success", "failed", "rolled_back", "rework", "durations")
    conn.execute(
        insert(DeploymentDay).from_select(
            ["service", "environment", "day", *names, "leads"],
            select(
                per_day.c.service,
                per_day.c.environment,
                per_day.c.day,
                *(per_day.c[name] for name in names),
                leads.c.leads,
            ).select_from(
                per_day.outerjoin(
                    leads,
                    and_(
                        leads.c.service == per_day.c.service,
                        leads.c.environment == per_day.c.environment,
                        leads.c.day == per_day.c.day,
                    ),
                )
            ),
        )
    )


async def rebuild_async(session: AsyncSession, timezone: str | tzinfo = "UTC") -> Rebuilt:
    """:func:`rebuild` in the session's transaction."""
    conn = await session.connection()
    return await conn.run_sync(lambda c: rebuild(c, timezone))
