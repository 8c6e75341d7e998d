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
from snapshots that miss each other's rows; the environment's whole-day row is summed
under its own lock, right after COMMIT in a call of its own
(:func:`~.rollup_days.sum_after_commit`). Days are those of the time zone stored in
``deployment_rollup_state`` (set by :mod:`~devops_center.deployments.rebuild`,
``dcc dora rebuild``); a report
asked in another zone reads the raw rows of its window instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import (
    bindparam,
    delete,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from devops_center.deployments import rollup_days
from devops_center.deployments.bulk import COPY_FROM, copy_records_sync, table_of
from devops_center.deployments.localdays import local_date, zone_of
from devops_center.deployments.models import (
    CommitFirstDeploy,
    Deployment,
    DeploymentCommit,
)
from devops_center.deployments.rollup_values import (
    ALL_SERVICES,
    among,
    lead_us,
    not_among,
    parts,
)

_PENDING = "dcc.rollups.pending"
_AFTER_COMMIT = "dcc.rollups.after_commit"


# --------------------------------------------------------------- what was touched


class NewRow(NamedTuple):
    """A deployment as a transaction just inserted it (with a Core statement or COPY),
    with its commits (sha, committed_at)."""

    service: str
    environment: str
    started_at: datetime
    completed_at: datetime | None
    status: str
    commits: Sequence[tuple[str, datetime]]


@dataclass
class _Pending:
    ids: set[int] = field(default_factory=set)  # re-read at COMMIT: their current state
    days: set[tuple[str, str, datetime]] = field(default_factory=set)  # (svc, env, started)
    pairs_of: dict[int, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    shas_of: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    firsts: set[tuple[str, str, str]] = field(default_factory=set)
    # new rows whose image is known (changed_new): not re-read unless noted otherwise
    new: dict[int, NewRow] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.ids or self.days or self.firsts or self.new)


def _pending(session: Session) -> _Pending:
    found = session.info.get(_PENDING)
    if not isinstance(found, _Pending):
        found = session.info[_PENDING] = _Pending()
    return found


def _note_old_image(session: Session, ids: Sequence[int]) -> None:
    """What the deployments ``ids`` are now, before a change: their day and their
    commits' first deployments must be recomputed too."""
    pending = _pending(session)
    _read_images(session.connection(), ids, pending.days, pending.pairs_of, pending.shas_of)
    pending.ids.update(ids)


def _read_images(
    conn: Connection,
    ids: Iterable[int],
    days: set[tuple[str, str, datetime]],
    pairs_of: dict[int, set[tuple[str, str]]],
    shas_of: dict[int, set[str]],
) -> None:
    """Add what the deployments ``ids`` are now — their (service, environment, start)
    and their commits — to ``days``, ``pairs_of`` and ``shas_of``."""
    for part in parts(conn, sorted(ids)):
        for dep_id, service, environment, started in conn.execute(
            select(
                Deployment.id, Deployment.service, Deployment.environment, Deployment.started_at
            ).where(among(conn, Deployment.id, part))
        ).all():
            days.add((service, environment, started))
            pairs_of[dep_id].add((service, environment))
        for dep_id, sha in conn.execute(
            select(DeploymentCommit.deployment_id, DeploymentCommit.sha).where(
                among(conn, DeploymentCommit.deployment_id, part)
            )
        ).all():
            shas_of[dep_id].add(sha)


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


def changed_new(session: AsyncSession | Session, rows: dict[int, NewRow]) -> None:
    """Like :func:`changed`, for deployments this transaction just inserted with a Core
    statement or COPY (id → what was inserted): their roll-ups are recomputed without
    reading them back. A later change to one of them in the same transaction (noted by
    :func:`changed` or the ORM) makes it read."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    _pending(sync).new.update(rows)


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
    # ``session.dirty`` is computed anew at each access, over the whole identity map:
    # read once (asked for every object, a re-import of 5,000 updated lines spent 3.5 s
    # of its 6.3 s here)
    dirty = session.dirty
    for obj in (*session.new, *dirty, *session.deleted):
        if isinstance(obj, Deployment):
            pending = pending or _pending(session)
            if obj.id is None:
                continue
            pending.ids.add(obj.id)
            if obj in dirty:
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
        session.info.pop(_AFTER_COMMIT, None)


# -------------------------------------------------------------------- recomputing


def rollup_zone(conn: Connection) -> tzinfo:
    return _zone(rollup_days.stored_zone(conn))


def _zone(name: str | None) -> tzinfo:
    try:
        return zone_of(name or "UTC")
    except (KeyError, ValueError):
        return UTC


def _apply(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not isinstance(pending, _Pending) or not pending:
        return
    conn = session.connection()
    days = set(pending.days)
    firsts = set(pending.firsts)
    pairs_of: dict[int, set[tuple[str, str]]] = defaultdict(set, pending.pairs_of)
    shas_of: dict[int, set[str]] = defaultdict(set, pending.shas_of)
    _read_images(conn, pending.ids, days, pairs_of, shas_of)
    known = {k: v for k, v in pending.new.items() if k not in pending.ids}
    for row in known.values():
        service, environment = row.service, row.environment
        days.add((service, environment, row.started_at))
        for sha, _at in row.commits:
            firsts.add((service, environment, sha))
    for dep_id, pairs in pairs_of.items():
        for service, environment in pairs:
            firsts.update((service, environment, sha) for sha in shas_of.get(dep_id, ()))
    pairs = {(s, e) for s, e, _ in days} | {(s, e) for s, e, _ in firsts}
    # Each (service, environment) locked for its recomputation (PostgreSQL; the
    # environments' whole-day rows are summed under a lock of their own, after COMMIT),
    # and the roll-ups' time zone read by the same statement.
    zone = _zone(rollup_days.lock(conn, pairs))
    days |= _recompute_firsts(conn, firsts, [*pending.ids, *pairs_of], known)
    buckets = {(s, e, local_date(at, zone)) for s, e, at in days}
    buckets |= {(ALL_SERVICES, e, d) for _s, e, d in buckets}
    after = rollup_days.recompute_days(conn, buckets, zone)
    if after:
        session.info[_AFTER_COMMIT] = (conn.connection.driver_connection, after)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # PostgreSQL: the environments' whole-day rows, summed once the service rows are
    # committed (rollup_days.sum_after_commit); the connection is still this session's.
    found = session.info.pop(_AFTER_COMMIT, None)
    if found is not None:
        driver, days = found
        rollup_days.sum_after_commit(driver, days)


_FIRST_COLUMNS = ("service", "environment", "sha", "started_at", "deployment_id", "lead_us")


def _recompute_firsts(
    conn: Connection,
    keys: set[tuple[str, str, str]],
    changed: Iterable[int] = (),
    known: dict[int, NewRow] | None = None,
) -> set[tuple[str, str, datetime]]:
    """Make the first-deployment rows of ``keys`` right; returns the days they left or
    entered (those days' lead times change). ``changed`` are the deployments written in
    this transaction; ``known`` those of them just inserted, as inserted (not read back,
    and no stored row can point to them yet).

    Every statement is an index look-up by commit or by deployment id, a slice of
    commits at a time (:func:`~.rollup_values.parts`), so a batch of thousands of
    deployments (an import) costs a few statements per slice whatever the history: the
    commits' deployments by the commit index, then the stored rows by deployment id (a
    stored row points to a successful deployment of that commit, or to one changed in
    this transaction)."""
    moved: set[tuple[str, str, datetime]] = set()
    wanted = set(keys)
    keys_of: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for key in wanted:
        keys_of[key[2]].append(key)
    best: dict[tuple[str, str, str], tuple[datetime, int, int | None]] = {}
    new = known or {}
    candidates: set[int] = set(changed)
    # The commits of the rows just inserted are known: only the others are read.
    new_holders: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for dep_id, row in new.items():
        for sha, committed in row.commits:
            new_holders[sha].append((dep_id, committed))
    skip = not_among(conn, DeploymentCommit.deployment_id, sorted(new))
    for shas in parts(conn, list(keys_of)):
        holders: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
        for sha in shas:
            for dep_id, committed in new_holders.get(sha, ()):
                holders[dep_id].append((sha, committed))
        for sha, dep_id, committed in conn.execute(
            select(
                DeploymentCommit.sha, DeploymentCommit.deployment_id, DeploymentCommit.committed_at
            ).where(among(conn, DeploymentCommit.sha, shas), *skip)
        ).all():
            if dep_id not in new:
                holders[int(dep_id)].append((sha, committed))
        candidates.update(holders)
        images: list[Sequence[Any]] = [
            (i, r.service, r.environment, r.started_at, r.completed_at, r.status)
            for i in holders
            if (r := new.get(i)) is not None
        ]
        for ids in parts(conn, sorted(set(holders) - set(new))):
            # By id only, the status checked here: with ``status = 'success'`` in the
            # query PostgreSQL may read all successful deployments by the status index.
            images.extend(
                conn.execute(
                    select(
                        Deployment.id,
                        Deployment.service,
                        Deployment.environment,
                        Deployment.started_at,
                        Deployment.completed_at,
                        Deployment.status,
                    ).where(among(conn, Deployment.id, ids))
                )
            )
        for dep_id, service, environment, started, completed, status in images:
            if status != "success":
                continue
            for sha, committed in holders[int(dep_id)]:
                key = (service, environment, sha)
                if key not in wanted:
                    continue
                held = best.get(key)
                if held is None or (started, dep_id) < (held[0], held[1]):
                    lead = lead_us(completed, committed) if completed is not None else None
                    best[key] = (started, dep_id, lead)
    stored: dict[tuple[str, str, str], tuple[datetime, int, int | None]] = {}
    for ids in parts(conn, sorted(candidates - set(new))):
        for service, environment, sha, started, dep_id, lead in conn.execute(
            select(
                CommitFirstDeploy.service,
                CommitFirstDeploy.environment,
                CommitFirstDeploy.sha,
                CommitFirstDeploy.started_at,
                CommitFirstDeploy.deployment_id,
                CommitFirstDeploy.lead_us,
            ).where(among(conn, CommitFirstDeploy.deployment_id, ids))
        ).all():
            key = (service, environment, sha)
            if key in wanted:
                stored[key] = (started, dep_id, lead)
    stale = sorted(k for k, v in stored.items() if v != best.get(k))
    fresh = [(k, v) for k, v in best.items() if stored.get(k) != v]
    for k in stale:
        moved.add((k[0], k[1], stored[k][0]))
    for k, v in fresh:
        moved.add((k[0], k[1], v[0]))
    if stale:
        conn.execute(
            delete(CommitFirstDeploy).where(
                CommitFirstDeploy.service == bindparam("s"),
                CommitFirstDeploy.environment == bindparam("e"),
                CommitFirstDeploy.sha == bindparam("h"),
            ),
            [{"s": k[0], "e": k[1], "h": k[2]} for k in stale],
        )
    records = [(*k, *v) for k, v in fresh]  # in the order of _FIRST_COLUMNS
    if len(records) >= COPY_FROM and conn.dialect.name == "postgresql":
        # an import's thousands
        copy_records_sync(conn, table_of(CommitFirstDeploy), list(_FIRST_COLUMNS), records)
    elif records:
        conn.execute(
            insert(CommitFirstDeploy),
            [dict(zip(_FIRST_COLUMNS, r, strict=True)) for r in sorted(records)],
        )
    return moved
