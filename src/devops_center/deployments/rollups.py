"""What the DORA report reads instead of the history: kept exact on every write.

Two derived tables (:mod:`devops_center.deployments.models`):

* ``commit_first_deploys`` — per (service, environment, commit) its first successful
  deployment (by ``started_at``, then id) and its lead time;
* ``deployment_days`` — per (service, environment, local day) the counts of
  deployments by status, the rework deployments, and the lead times and durations of
  that day (the values themselves, so medians over any set of days stay exact).

Nothing is incremented: every (service, environment, day) and every (service,
environment, commit) that a transaction touched is recomputed from the raw rows just
before COMMIT, in that transaction, and the environment's row of each day it touched
(all services) is summed anew from that day's service rows. Late or reordered
registrations, status changes (success → rolled back), redeploys of one commit, moved
or deleted deployments and replaced commits therefore leave the same rows as a rebuild
from scratch. What a transaction touched is noted

* automatically for deployments and commits written through the ORM (a session's
  ``add``/``delete``/attribute changes), and
* by :func:`before_change` / :func:`changed` around writes made with Core statements
  (bulk inserts, ``delete(...)``): the caller says which deployments they concern.

On PostgreSQL each (service, environment) is locked (a transaction-level advisory
lock) for the recomputation, so two registrations of the same service never compute
from snapshots that miss each other's rows. Days are those of the time zone stored in
``deployment_rollup_state`` (set by :mod:`~devops_center.deployments.rebuild`,
``dcc dora rebuild``); a report
asked in another zone reads the raw rows of its window instead.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    Text,
    bindparam,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from devops_center.deployments.localdays import as_date, local_date, local_midnight, zone_of
from devops_center.deployments.models import (
    CommitFirstDeploy,
    Deployment,
    DeploymentCommit,
    DeploymentDay,
    RollupState,
)

_PENDING = "dcc.rollups.pending"
# The service of the rows that hold a whole environment's day (no real service is
# named so: the API requires a name). The report of all services reads one row a day.
ALL_SERVICES = ""
_CHUNK = 500  # values per IN (…): far below every database's limit
_COUNTS = ("total", "running", "success", "failed", "rolled_back", "rework")


def lead_us(completed: datetime, committed: datetime) -> int:
    """Completed − committed in whole microseconds (what every path stores)."""
    return (completed - committed) // timedelta(microseconds=1)


def join_values(values: Iterable[int]) -> str | None:
    text_ = ",".join(str(v) for v in values)
    return text_ or None


def split_values(value: str | None) -> list[int]:
    # json's C parser reads a long list of integers several times faster than int()
    return list(json.loads(f"[{value}]")) if value else []


def joined_values(column: Any, dialect: str) -> Any:
    """SQL: a group's integers (or comma-separated texts of them), comma-separated — what
    :func:`split_values` reads; NULLs are left out."""
    if dialect == "postgresql":
        return func.string_agg(cast(column, Text), literal_column("','"))
    return func.group_concat(column, literal_column("','"))


# --------------------------------------------------------------- what was touched


@dataclass
class _Pending:
    ids: set[int] = field(default_factory=set)  # re-read at COMMIT: their current state
    days: set[tuple[str, str, datetime]] = field(default_factory=set)  # (svc, env, started)
    pairs_of: dict[int, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    shas_of: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    firsts: set[tuple[str, str, str]] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.ids or self.days or self.firsts)


def _pending(session: Session) -> _Pending:
    found = session.info.get(_PENDING)
    if not isinstance(found, _Pending):
        found = session.info[_PENDING] = _Pending()
    return found


def _note_old_image(session: Session, ids: Sequence[int]) -> None:
    """What the deployments ``ids`` are now, before a change: their day and their
    commits' first deployments must be recomputed too."""
    pending = _pending(session)
    conn = session.connection()
    for part in _chunks(list(ids)):
        rows = conn.execute(
            select(
                Deployment.id, Deployment.service, Deployment.environment, Deployment.started_at
            ).where(Deployment.id.in_(part))
        ).all()
        for dep_id, service, environment, started in rows:
            pending.days.add((service, environment, started))
            pending.pairs_of[dep_id].add((service, environment))
        shas = conn.execute(
            select(DeploymentCommit.deployment_id, DeploymentCommit.sha).where(
                DeploymentCommit.deployment_id.in_(part)
            )
        ).all()
        for dep_id, sha in shas:
            pending.shas_of[dep_id].add(sha)
        pending.ids.update(part)


async def before_change(session: AsyncSession, deployment_ids: Sequence[int]) -> None:
    """Call before a Core statement changes or deletes these deployments or their commits
    (the ORM's own changes are noted without it)."""
    if deployment_ids:
        await session.run_sync(lambda s: _note_old_image(s, deployment_ids))


def changed(session: AsyncSession | Session, deployment_ids: Iterable[int]) -> None:
    """Call after a Core statement inserted or changed these deployments or their
    commits: their roll-ups are recomputed before the transaction commits."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    _pending(sync).ids.update(deployment_ids)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    # Deleted deployments: their commits (and first-deployment rows) go with them by
    # ON DELETE CASCADE during the flush, so what they shipped is read now.
    gone = [obj.id for obj in session.deleted if isinstance(obj, Deployment) and obj.id is not None]
    if gone:
        _note_old_image(session, gone)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    pending: _Pending | None = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Deployment):
            pending = pending or _pending(session)
            if obj.id is None:
                continue
            pending.ids.add(obj.id)
            if obj in session.dirty:
                state = _old_values(obj)
                pending.days.add((state["service"], state["environment"], state["started_at"]))
                pending.pairs_of[obj.id].add((state["service"], state["environment"]))
        elif isinstance(obj, DeploymentCommit):
            pending = pending or _pending(session)
            if obj.deployment_id is not None:
                pending.ids.add(obj.deployment_id)
                if obj.sha:
                    pending.shas_of[obj.deployment_id].add(obj.sha)


def _old_values(obj: Deployment) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for name in ("service", "environment", "started_at"):
        history = state.attrs[name].history
        out[name] = history.deleted[0] if history.deleted else getattr(obj, name)
    return out


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if session.info.get(_PENDING) or session.new or session.dirty or session.deleted:
        session.flush()  # the flush would come after this hook: note its changes first
        _apply(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


# -------------------------------------------------------------------- recomputing


def _chunks(values: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def rollup_zone(conn: Connection) -> tzinfo:
    name = conn.execute(select(RollupState.timezone).where(RollupState.id == 1)).scalar()
    try:
        return zone_of(name or "UTC")
    except (KeyError, ValueError):
        return UTC


def _lock(conn: Connection, pairs: Iterable[tuple[str, str]]) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite has one writer at a time
    for service, environment in sorted(set(pairs)):
        digest = hashlib.blake2b(f"dora:{service}@{environment}".encode(), digest_size=8)
        key = int.from_bytes(digest.digest(), "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _apply(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not isinstance(pending, _Pending) or not pending:
        return
    conn = session.connection()
    zone = rollup_zone(conn)
    days = set(pending.days)
    firsts = set(pending.firsts)
    pairs_of: dict[int, set[tuple[str, str]]] = defaultdict(set, pending.pairs_of)
    shas_of: dict[int, set[str]] = defaultdict(set, pending.shas_of)
    for part in _chunks(sorted(pending.ids)):
        for dep_id, service, environment, started in conn.execute(
            select(
                Deployment.id, Deployment.service, Deployment.environment, Deployment.started_at
            ).where(Deployment.id.in_(part))
        ):
            days.add((service, environment, started))
            pairs_of[dep_id].add((service, environment))
        for dep_id, sha in conn.execute(
            select(DeploymentCommit.deployment_id, DeploymentCommit.sha).where(
                DeploymentCommit.deployment_id.in_(part)
            )
        ):
            shas_of[dep_id].add(sha)
    for dep_id, pairs in pairs_of.items():
        for service, environment in pairs:
            firsts.update((service, environment, sha) for sha in shas_of.get(dep_id, ()))
    pairs = {(s, e) for s, e, _ in days} | {(s, e) for s, e, _ in firsts}
    _lock(conn, pairs | {(ALL_SERVICES, e) for _s, e in pairs})
    days |= _recompute_firsts(conn, firsts, [*pending.ids, *pairs_of])
    buckets = {(s, e, local_date(at, zone)) for s, e, at in days}
    buckets |= {(ALL_SERVICES, e, d) for _s, e, d in buckets}
    _recompute_days(conn, buckets, zone)


def _recompute_firsts(
    conn: Connection, keys: set[tuple[str, str, str]], changed: Iterable[int] = ()
) -> set[tuple[str, str, datetime]]:
    """Make the first-deployment rows of ``keys`` right; returns the days they left or
    entered (those days' lead times change). ``changed`` are the deployments written in
    this transaction.

    Every statement is an index look-up by commit or by deployment id, 500 commits at a
    time, so a batch of thousands of deployments (an import) costs a few statements per
    500 commits whatever the history: the commits' deployments by the commit index, then
    the stored rows by deployment id (a stored row points to a successful deployment of
    that commit, or to one changed in this transaction)."""
    moved: set[tuple[str, str, datetime]] = set()
    wanted = set(keys)
    keys_of: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for key in sorted(wanted):
        keys_of[key[2]].append(key)
    best: dict[tuple[str, str, str], tuple[datetime, int, int | None]] = {}
    candidates: set[int] = set(changed)
    for shas in _chunks(sorted(keys_of)):
        holders: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
        for sha, dep_id, committed in conn.execute(
            select(
                DeploymentCommit.sha, DeploymentCommit.deployment_id, DeploymentCommit.committed_at
            ).where(DeploymentCommit.sha.in_(shas))
        ):
            holders[int(dep_id)].append((sha, committed))
        candidates.update(holders)
        for ids in _chunks(sorted(holders)):
            for dep_id, service, environment, started, completed in conn.execute(
                select(
                    Deployment.id,
                    Deployment.service,
                    Deployment.environment,
                    Deployment.started_at,
                    Deployment.completed_at,
                ).where(Deployment.id.in_(ids), Deployment.status == "success")
            ):
                for sha, committed in holders[int(dep_id)]:
                    key = (service, environment, sha)
                    if key not in wanted:
                        continue
                    known = best.get(key)
                    if known is None or (started, dep_id) < (known[0], known[1]):
                        lead = lead_us(completed, committed) if completed is not None else None
                        best[key] = (started, dep_id, lead)
    stored: dict[tuple[str, str, str], tuple[datetime, int, int | None]] = {}
    for ids in _chunks(sorted(candidates)):
        for service, environment, sha, started, dep_id, lead in conn.execute(
            select(
                CommitFirstDeploy.service,
                CommitFirstDeploy.environment,
                CommitFirstDeploy.sha,
                CommitFirstDeploy.started_at,
                CommitFirstDeploy.deployment_id,
                CommitFirstDeploy.lead_us,
            ).where(CommitFirstDeploy.deployment_id.in_(ids))
        ):
            key = (service, environment, sha)
            if key in wanted:
                stored[key] = (started, dep_id, lead)
    ordered = sorted(wanted)
    stale = [k for k in ordered if k in stored and stored[k] != best.get(k)]
    fresh = [k for k in ordered if k in best and stored.get(k) != best[k]]
    for k in stale:
        moved.add((k[0], k[1], stored[k][0]))
    for k in fresh:
        moved.add((k[0], k[1], best[k][0]))
    if stale:
        conn.execute(
            delete(CommitFirstDeploy).where(
                CommitFirstDeploy.service == bindparam("s"),
                CommitFirstDeploy.environment == bindparam("e"),
                CommitFirstDeploy.sha == bindparam("h"),
            ),
            [{"s": k[0], "e": k[1], "h": k[2]} for k in stale],
        )
    if fresh:
        conn.execute(
            insert(CommitFirstDeploy),
            [
                {
                    "service": k[0],
                    "environment": k[1],
                    "sha": k[2],
                    "started_at": best[k][0],
                    "deployment_id": best[k][1],
                    "lead_us": best[k][2],
                }
                for k in fresh
            ],
        )
    return moved


# Days further apart than this are recomputed by separate statements: one range read
# per run of close days, not one over the whole history between them.
_RUN_GAP = timedelta(days=7)


def _recompute_days(conn: Connection, buckets: set[tuple[str, str, date]], zone: tzinfo) -> None:
    """Rebuild the roll-up rows of ``buckets`` (service, environment, local day): a
    service's rows from the raw rows, then each environment's whole-day row
    (:data:`ALL_SERVICES`) as the sum of that day's service rows — exact by
    construction, and a few rows to read instead of every deployment of the day."""
    _recompute_service_days(conn, {b for b in buckets if b[0] != ALL_SERVICES}, zone)
    _sum_whole_days(conn, {(e, d) for _s, e, d in buckets})


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
    counts: dict[tuple[str, str, date], dict[str, int]] = {}
    durations: dict[tuple[str, str, date], list[int]] = defaultdict(list)
    leads: dict[tuple[str, str, date], list[int]] = defaultdict(list)
    for run in runs:
        lo, hi = local_midnight(run[0], zone), local_midnight(run[-1] + timedelta(days=1), zone)
        in_run = {b for b in buckets if run[0] <= b[2] <= run[-1]}
        services = sorted({b[0] for b in in_run})
        environments = sorted({b[1] for b in in_run})
        for service, environment, started, status, kind, duration in conn.execute(
            select(
                Deployment.service,
                Deployment.environment,
                Deployment.started_at,
                Deployment.status,
                Deployment.kind,
                Deployment.duration_seconds,
            ).where(
                Deployment.service.in_(services),
                Deployment.environment.in_(environments),
                Deployment.started_at >= lo,
                Deployment.started_at < hi,
            )
        ):
            key = (service, environment, local_date(started, zone))
            if key in in_run:
                c = counts.setdefault(key, dict.fromkeys(_COUNTS, 0))
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
                CommitFirstDeploy.started_at,
                CommitFirstDeploy.lead_us,
            ).where(
                CommitFirstDeploy.service.in_(services),
                CommitFirstDeploy.environment.in_(environments),
                CommitFirstDeploy.started_at >= lo,
                CommitFirstDeploy.started_at < hi,
                CommitFirstDeploy.lead_us.is_not(None),
            )
        ):
            key = (service, environment, local_date(started, zone))
            if key in in_run:
                leads[key].append(int(lead or 0))
    _store_days(
        conn,
        buckets,
        {
            key: {
                **c,
                "leads": join_values(sorted(leads.get(key, []))),
                "durations": join_values(sorted(durations.get(key, []))),
            }
            for key, c in counts.items()
        },
    )


def _sum_whole_days(conn: Connection, days: set[tuple[str, date]]) -> None:
    """The (environment, day) rows of all services: sums of the service rows, their
    values merged (one aggregate row a day, the values concatenated by the database)."""
    if not days:
        return
    t = DeploymentDay
    dialect = conn.dialect.name
    rows: dict[tuple[str, str, date], dict[str, Any]] = {}
    for environment in sorted({e for e, _d in days}):
        for chunk in _chunks(sorted(d for e, d in days if e == environment)):
            for day, *sums, leads, durations in conn.execute(
                select(
                    t.day,
                    *(func.sum(getattr(t, n)) for n in _COUNTS),
                    joined_values(t.leads, dialect),
                    joined_values(t.durations, dialect),
                )
                .where(
                    t.service != ALL_SERVICES,
                    t.environment == environment,
                    t.day.in_(chunk),
                )
                .group_by(t.day)
            ):
                rows[(ALL_SERVICES, environment, as_date(day))] = {
                    **{n: int(v or 0) for n, v in zip(_COUNTS, sums, strict=True)},
                    "leads": join_values(sorted(split_values(leads))),
                    "durations": join_values(sorted(split_values(durations))),
                }
    _store_days(conn, {(ALL_SERVICES, e, d) for e, d in days}, rows)


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
        ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(DeploymentDay)
        stmt = ins.on_conflict_do_update(
            index_elements=["service", "environment", "day"],
            set_={n: ins.excluded[n] for n in (*_COUNTS, "leads", "durations")},
        )
        conn.execute(
            stmt,
            [
                {"service": s, "environment": e, "day": d, **row}
                for (s, e, d), row in sorted(rows.items())
            ],
        )
