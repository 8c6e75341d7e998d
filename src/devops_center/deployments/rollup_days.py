"""The roll-up rows of days (``deployment_days``), recomputed for the (service,
environment, local day) buckets a transaction touched: a service's rows from the raw
rows, an environment's whole-day row as the sum of that day's service rows."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from functools import cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.util import await_only

from devops_center.deployments.localdays import as_date, local_date, local_midnight, zone_name
from devops_center.deployments.models import (
    CommitFirstDeploy,
    Deployment,
    DeploymentDay,
    RollupState,
)
from devops_center.deployments.rollup_values import (
    ALL_SERVICES,
    COUNTS,
    chunks,
    join_values,
    joined_values,
    split_values,
)

# Days further apart than this are recomputed by separate statements: one range read
# per run of close days, not one over the whole history between them.
_RUN_GAP = timedelta(days=7)


def lock_key(service: str, environment: str) -> int:
    digest = hashlib.blake2b(f"dora:{service}@{environment}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


# The locks taken in the array's order (one order for every transaction: no deadlock),
# and the roll-ups' time zone read by the same round trip.
_LOCK_AND_ZONE = text(
    "SELECT (SELECT timezone FROM deployment_rollup_state WHERE id = 1) FROM "
    "(SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k) AS l"
)


def stored_zone(conn: Connection) -> str | None:
    """The name of the time zone the roll-up days are in (``deployment_rollup_state``)."""
    name = conn.execute(select(RollupState.timezone).where(RollupState.id == 1)).scalar()
    return None if name is None else str(name)


def lock(conn: Connection, pairs: Iterable[tuple[str, str]]) -> str | None:
    """Transaction-level advisory locks of (service, environment) pairs, in one order;
    returns the name of the roll-ups' time zone (``deployment_rollup_state``)."""
    if conn.dialect.name != "postgresql":  # SQLite has one writer at a time
        return stored_zone(conn)
    keys = [lock_key(service, environment) for service, environment in sorted(set(pairs))]
    return conn.execute(_LOCK_AND_ZONE, {"keys": keys}).scalar()


def recompute_days(
    conn: Connection, buckets: set[tuple[str, str, date]], zone: tzinfo
) -> dict[str, list[date]]:
    """Rebuild the roll-up rows of ``buckets`` (service, environment, local day): a
    service's rows from the raw rows, then each environment's whole-day row
    (:data:`ALL_SERVICES`) as the sum of that day's service rows — exact by
    construction, and a few rows to read instead of every deployment of the day.

    On PostgreSQL the whole-day rows are left to :func:`sum_after_commit` (returned:
    environment → days), on SQLite they are summed here."""
    _recompute_service_days(conn, {b for b in buckets if b[0] != ALL_SERVICES}, zone)
    days: dict[str, list[date]] = defaultdict(list)
    for environment, day in sorted({(e, d) for _s, e, d in buckets}):
        days[environment].append(day)
    if conn.dialect.name == "postgresql":
        return dict(days)
    _sum_whole_days(conn, days)
    return {}


def sum_after_commit(driver: Any, days: dict[str, list[date]]) -> None:
    """PostgreSQL, right after the COMMIT of the service rows, outside any transaction:
    each environment's whole-day rows of ``days`` summed anew by one call of
    ``dcc_sum_whole_days`` (migration 0019) — the environment's advisory lock, then the
    sum in a statement of its own, which sees every service row committed before the
    lock was granted; the call's own commit releases the lock. Held inside the
    registration's transaction, that lock was waited for up to 390 ms under load (its
    holder's worker busy with other requests between its last statements and COMMIT).

    Two registrations of a day each sum after their own COMMIT, in the lock's order:
    the later sum sees both. A process that dies between the COMMIT and this call
    leaves the day's whole-environment row short until the next registration of that
    day or ``dcc dora rebuild``."""
    for environment in sorted(days):
        await_only(
            driver.execute(
                "SELECT dcc_sum_whole_days($1, $2, $3)",
                environment,
                days[environment],
                lock_key(ALL_SERVICES, environment),
            )
        )


def _plain(column: Any) -> Any:
    """A timestamp column read as SQLite's driver gives it (naive UTC: what
    :func:`local_date` takes), without the per-value conversion of
    :class:`~devops_center.db.UTCDateTime` — thousands of rows a batch on an import."""
    return type_coerce(column, DateTime(timezone=True))


def _recompute_service_days(
    conn: Connection, buckets: set[tuple[str, str, date]], zone: tzinfo
) -> None:
    """For each run of close days, one read of the deployments and one of the first
    deployments of those services, then one upsert and one delete for all."""
    if not buckets:
        return
    days = sorted({d for _s, _e, d in buckets})
    runs: list[list[date]] = [[days[0]]]
    for day in days[1:]:
        if day - runs[-1][-1] > _RUN_GAP:
            runs.append([day])
        else:
            runs[-1].append(day)
    if conn.dialect.name == "postgresql":
        rows = _grouped_days(conn, buckets, runs, zone)
    else:
        rows = _summed_days(conn, buckets, runs, zone)
    _store_days(conn, buckets, rows)


def _run_scope(
    buckets: set[tuple[str, str, date]], run: list[date], zone: tzinfo
) -> tuple[set[tuple[str, str, date]], list[str], list[str], datetime, datetime]:
    lo, hi = local_midnight(run[0], zone), local_midnight(run[-1] + timedelta(days=1), zone)
    in_run = {b for b in buckets if run[0] <= b[2] <= run[-1]}
    return in_run, sorted({b[0] for b in in_run}), sorted({b[1] for b in in_run}), lo, hi


@cache
def _grouped_statements() -> tuple[Select[Any], Select[Any]]:
    """:func:`_grouped_days`'s two statements, built once (building them took longer
    than running them: ~2 ms of every registration's CPU), their values bound.

    The span's bounds are given as ``(SELECT :lo)``: a value the planner does not see.
    Given as values, a span of today — later than the statistics' newest timestamp until
    the next ANALYZE, on a large table days away — is estimated at one row for any
    index, and PostgreSQL took the environment's index (every service's rows of the
    day) as readily as the service's: 2.5 ms instead of 0.5 ms per statement at 1M. A
    bound it cannot see is estimated at a fixed fraction, smaller for the index that
    also has the service."""
    d, f = Deployment, CommitFirstDeploy
    zone = bindparam("zone", type_=String())
    services = bindparam("services", type_=ARRAY(String()))
    environments = bindparam("environments", type_=ARRAY(String()))
    lo = select(bindparam("lo", type_=d.started_at.type)).scalar_subquery()
    hi = select(bindparam("hi", type_=d.started_at.type)).scalar_subquery()
    d_day = func.date(func.timezone(zone, d.started_at))
    f_day = func.date(func.timezone(zone, f.started_at))
    finished = d.status != "in_progress"
    good = and_(d.status == "success", d.duration_seconds.is_not(None))
    counted = (
        select(
            d.service,
            d.environment,
            d_day,
            func.count(),
            func.count().filter(d.status == "in_progress"),
            func.count().filter(d.status == "success"),
            func.count().filter(d.status == "failed"),
            func.count().filter(d.status == "rolled_back"),
            func.count().filter(and_(finished, d.kind.in_(("rollback", "hotfix")))),
            func.string_agg(
                cast(d.duration_seconds, Text),
                aggregate_order_by(literal(","), d.duration_seconds),
            ).filter(good),
        )
        .where(
            d.service == any_(services),
            d.environment == any_(environments),
            d.started_at >= lo,
            d.started_at < hi,
        )
        .group_by(d.service, d.environment, d_day)
    )
    joined = (
        select(
            f.service,
            f.environment,
            f_day,
            func.string_agg(cast(f.lead_us, Text), aggregate_order_by(literal(","), f.lead_us)),
        )
        .where(
            f.service == any_(services),
            f.environment == any_(environments),
            f.started_at >= lo,
            f.started_at < hi,
            f.lead_us.is_not(None),
        )
        .group_by(f.service, f.environment, f_day)
    )
    return counted, joined


def _grouped_days(
    conn: Connection,
    buckets: set[tuple[str, str, date]],
    runs: list[list[date]],
    zone: tzinfo,
) -> dict[tuple[str, str, date], dict[str, Any]]:
    """PostgreSQL: each run's days counted and their values joined by the database, a
    row per (service, environment, day) — as ``dcc dora rebuild`` computes them (the
    same local day, the same sorted values) — instead of a row per deployment and per
    commit for Python to count."""
    counted, joined = _grouped_statements()
    zone_text = zone_name(zone)
    rows: dict[tuple[str, str, date], dict[str, Any]] = {}
    for run in runs:
        in_run, services, environments, lo, hi = _run_scope(buckets, run, zone)
        values = {
            "zone": zone_text,
            "services": services,
            "environments": environments,
            "lo": lo,
            "hi": hi,
        }
        for service, environment, day, *numbers, durations in conn.execute(counted, values).all():
            if (key := (service, environment, day)) in in_run:
                rows[key] = {
                    **dict(zip(COUNTS, numbers, strict=True)),
                    "leads": None,
                    "durations": durations,
                }
        for service, environment, day, leads in conn.execute(joined, values).all():
            if (row := rows.get((service, environment, day))) is not None:
                row["leads"] = leads
    return rows


def _summed_days(
    conn: Connection,
    buckets: set[tuple[str, str, date]],
    runs: list[list[date]],
    zone: tzinfo,
) -> dict[tuple[str, str, date], dict[str, Any]]:
    """SQLite: each run's deployments and first deployments read, counted here."""
    counts: dict[tuple[str, str, date], dict[str, int]] = {}
    durations: dict[tuple[str, str, date], list[int]] = defaultdict(list)
    leads: dict[tuple[str, str, date], list[int]] = defaultdict(list)
    for run in runs:
        in_run, services, environments, lo, hi = _run_scope(buckets, run, zone)
        for service, environment, started, status, kind, duration in conn.execute(
            select(
                Deployment.service,
                Deployment.environment,
                _plain(Deployment.started_at),
                Deployment.status,
                Deployment.kind,
                Deployment.duration_seconds,
            ).where(
                Deployment.service.in_(services),
                Deployment.environment.in_(environments),
                Deployment.started_at >= lo,
                Deployment.started_at < hi,
            )
        ).all():
            key = (service, environment, local_date(started, zone))
            if key in in_run:
                c = counts.get(key)
                if c is None:
                    c = counts[key] = dict.fromkeys(COUNTS, 0)
                c["total"] += 1
                if status == "in_progress":
                    c["running"] += 1
                    continue
                if status in c:
                    c[status] += 1
                if kind in ("rollback", "hotfix"):
                    c["rework"] += 1
                if status == "success" and duration is not None:
                    durations[key].append(int(duration))
        for service, environment, started, lead in conn.execute(
            select(
                CommitFirstDeploy.service,
                CommitFirstDeploy.environment,
                _plain(CommitFirstDeploy.started_at),
                CommitFirstDeploy.lead_us,
            ).where(
                CommitFirstDeploy.service.in_(services),
                CommitFirstDeploy.environment.in_(environments),
                CommitFirstDeploy.started_at >= lo,
                CommitFirstDeploy.started_at < hi,
                CommitFirstDeploy.lead_us.is_not(None),
            )
        ).all():
            key = (service, environment, local_date(started, zone))
            if key in in_run:
                leads[key].append(int(lead or 0))
    return {
        key: {
            **c,
            "leads": join_values(sorted(leads.get(key, []))),
            "durations": join_values(sorted(durations.get(key, []))),
        }
        for key, c in counts.items()
    }


def _sum_whole_days(conn: Connection, days: dict[str, list[date]]) -> None:
    """SQLite: the (environment, day) rows of all services, in the transaction: sums of
    the service rows, their values merged (one aggregate row a day)."""
    t = DeploymentDay
    dialect = conn.dialect.name
    rows: dict[tuple[str, str, date], dict[str, Any]] = {}
    for environment, env_days in sorted(days.items()):
        for chunk in chunks(env_days):
            for day, *sums, leads, durations in conn.execute(
                select(
                    t.day,
                    *(func.sum(getattr(t, n)) for n in COUNTS),
                    joined_values(t.leads, dialect),
                    joined_values(t.durations, dialect),
                )
                .where(
                    t.service != ALL_SERVICES,
                    t.environment == environment,
                    t.day.in_(chunk),
                )
                .group_by(t.day)
            ).all():
                rows[(ALL_SERVICES, environment, as_date(day))] = {
                    **{n: int(v or 0) for n, v in zip(COUNTS, sums, strict=True)},
                    "leads": join_values(sorted(split_values(leads))),
                    "durations": join_values(sorted(split_values(durations))),
                }
    _store_days(conn, {(ALL_SERVICES, e, d) for e, ds in days.items() for d in ds}, rows)


def _revision() -> int:
    return secrets.randbits(63) - (1 << 62)  # a signed 64-bit integer, as the default


@cache
def _day_upsert(dialect: str) -> Any:
    """The upsert of day rows on ``dialect``, built once."""
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(DeploymentDay)
    return ins.on_conflict_do_update(
        index_elements=["service", "environment", "day"],
        set_={n: ins.excluded[n] for n in (*COUNTS, "leads", "durations", "revision")},
    )


def _store_days(
    conn: Connection,
    buckets: set[tuple[str, str, date]],
    rows: dict[tuple[str, str, date], dict[str, Any]],
) -> None:
    """Upsert ``rows``; delete the ``buckets`` that have none (nothing left that day)."""
    empty = [b for b in sorted(buckets) if b not in rows]
    if empty:
        conn.execute(
            delete(DeploymentDay).where(
                DeploymentDay.service == bindparam("s"),
                DeploymentDay.environment == bindparam("e"),
                DeploymentDay.day == bindparam("d"),
            ),
            [{"s": s, "e": e, "d": d} for s, e, d in empty],
        )
    if rows:
        conn.execute(
            _day_upsert(conn.dialect.name),
            [
                # a new revision: readers that kept this day's values read it again
                {"service": s, "environment": e, "day": d, **row, "revision": _revision()}
                for (s, e, d), row in sorted(rows.items())
            ],
        )
