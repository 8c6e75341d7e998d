"""The incidents a batch of deployments opens and resolves, as registering them one by
one would: a failed or rolled-back deployment opens one for its service and
environment (unless one is open), a success registered after it resolves it."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import UTCDateTime
from devops_center.deployments.bulk import (
    Item,
    copy_rows,
    copying,
    table_of,
)
from devops_center.deployments.models import Deployment
from devops_center.deployments.schemas import FINAL_STATUSES
from devops_center.incidents.models import Incident

FAILED_STATUSES = ("failed", "rolled_back")
DEPLOYMENT_SOURCE = "deployment"


def incident_ref(service: str, environment: str) -> str:
    return f"{service}@{environment}"[:200]


@dataclass
class _Open:
    """The open incident of a service and environment: stored (``row``) or opened by
    this batch (``new``, a row to insert)."""

    row: Incident | None = None
    new: dict[str, Any] | None = None

    @property
    def opened_at(self) -> datetime:
        if self.row is not None:
            return self.row.opened_at
        assert self.new is not None
        opened: datetime = self.new["opened_at"]
        return opened

    def resolve(self, when: datetime, deployment_id: int) -> None:
        resolved_at = max(when, self.opened_at)
        if self.row is not None:
            self.row.resolved_at = resolved_at
            self.row.resolved_by_deployment_id = deployment_id
        elif self.new is not None:
            self.new.update(resolved_at=resolved_at, resolved_by_deployment_id=deployment_id)


@dataclass
class _Success:
    """A successful deployment as a failure registered at ``pos`` would have seen it."""

    started_at: datetime
    id: int
    when: datetime
    visible_before: int | None  # seen only by items before this position (None: always)
    visible_from: int  # seen by items at or after this position


async def open_and_resolve_incidents(session: AsyncSession, items: list[Item]) -> None:
    """Open an incident for each failed or rolled-back deployment and resolve the open
    one at the next success of the same service and environment, as registering the
    items one by one would."""
    acting = [
        i
        for i in items
        if i.status in FINAL_STATUSES and (i.created or i.previous_status != i.status)
    ]
    if not acting:
        return
    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in acting:
        groups[(item.service, item.environment)].append(item)
    refs = {incident_ref(s, e): (s, e) for s, e in groups}
    open_now: dict[str, Incident] = {}
    stmt = (
        select(Incident)
        .where(
            Incident.source == DEPLOYMENT_SOURCE,
            Incident.source_ref.in_(list(refs)),
            Incident.resolved_at.is_(None),
        )
        .order_by(Incident.id)
    )
    for incident in (await session.execute(stmt)).scalars():
        open_now[str(incident.source_ref)] = incident  # the newest wins, as find_open
    failures = {
        key: [i for i in members if i.status in FAILED_STATUSES] for key, members in groups.items()
    }
    failures = {k: v for k, v in failures.items() if v}
    successes = await _successes(session, failures, items) if failures else {}
    new: list[dict[str, Any]] = []
    for key, members in groups.items():
        ref = incident_ref(*key)
        state = _Open(row=open_now[ref]) if ref in open_now else None
        for item in members:
            state = _one_incident(new, item, ref, state, successes.get(key, ([], [])))
    if new:
        new.sort(key=lambda row: int(row["deployment_id"]))
        if copying(session, len(new)):
            await copy_rows(session, table_of(Incident), new)
        else:
            await session.execute(insert(table_of(Incident)), new)


def _one_incident(
    new: list[dict[str, Any]],
    item: Item,
    ref: str,
    state: _Open | None,
    successes: tuple[list[tuple[datetime, int]], list[_Success]],
) -> _Open | None:
    assert item.started_at is not None
    when = item.completed_at or item.started_at
    if item.status in FAILED_STATUSES:
        recovery = _recovery(item, successes)
        if recovery is None and state is not None:
            return state  # the open incident of this service and environment stays
        verb = "failed" if item.status == "failed" else "was rolled back"
        incident: dict[str, Any] = {
            "source": DEPLOYMENT_SOURCE,
            "source_ref": ref,
            "title": f"Deployment of {item.service} ({item.environment}) {verb}"[:300],
            "service": item.service,
            "environment": item.environment,
            "severity": "high",
            "deployment_id": item.id,
            "opened_at": when,
            "description": _incident_description(item),
            "resolved_at": None,
            "resolved_by_deployment_id": None,
        }
        new.append(incident)
        if recovery is not None:
            # Learnt late (reordered webhooks, back-filled history): already recovered.
            incident["resolved_at"] = max(recovery.when, when)
            incident["resolved_by_deployment_id"] = recovery.id
            return state
        return _Open(new=incident)
    if state is not None and state.opened_at <= when:
        state.resolve(when, item.id)
        return None
    return state


def _incident_description(item: Item) -> str:
    text = f"{item.commit_sha[:12]} {item.commit_message or ''}".strip()
    reason = item.data.failure_reason or (item.row.failure_reason if item.row else None)
    return f"{text}\n{reason}" if reason else text


def _recovery(
    item: Item, successes: tuple[list[tuple[datetime, int]], list[_Success]]
) -> _Success | None:
    """The first success after ``item`` (by start) that was stored when it came."""
    keys, rows = successes
    assert item.started_at is not None
    start = bisect.bisect_right(keys, (item.started_at, 2**63))
    for row in rows[start:]:
        if row.id == item.id:
            continue
        if row.visible_before is not None and item.pos < row.visible_before:
            return row
        if item.pos >= row.visible_from:
            return row
    return None


async def _successes(
    session: AsyncSession, failures: dict[tuple[str, str], list[Item]], items: list[Item]
) -> dict[tuple[str, str], tuple[list[tuple[datetime, int]], list[_Success]]]:
    """Per service and environment, the successful deployments that may recover its
    ``failures``: those stored between its first and its last failure, and the first
    ones after the last (as many as this batch could hide, plus one). Two statements
    for the whole batch."""
    by_id = {i.id: i for i in items}
    bounds: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for key, members in failures.items():
        starts = [f.started_at for f in members if f.started_at is not None]
        bounds[key] = (min(starts), max(starts))
    hidden: dict[tuple[str, str], int] = defaultdict(int)
    for item in items:
        hidden[(item.service, item.environment)] += 1
    # Between the failures: one cacheable statement for all of them (a superset, the
    # bounds of each pair are applied below); after the last failure of each pair: the
    # first few by the (service, environment, started_at) index, one arm per pair.
    inside = select(
        Deployment.service,
        Deployment.environment,
        Deployment.id,
        Deployment.started_at,
        Deployment.completed_at,
    ).where(
        Deployment.service.in_({k[0] for k in bounds}),
        Deployment.environment.in_({k[1] for k in bounds}),
        Deployment.status == "success",
        Deployment.started_at > min(lo for lo, _hi in bounds.values()),
        Deployment.started_at <= max(hi for _lo, hi in bounds.values()),
    )
    arms, params = [], {}
    for n, (key, (_lo, hi)) in enumerate(bounds.items()):
        arms.append(
            "SELECT * FROM (SELECT service, environment, id, started_at, completed_at "  # noqa: S608  # nosec B608 (only numbered parameters in the text)
            f"FROM deployments WHERE service = :s{n} AND environment = :e{n} "
            f"AND status = 'success' AND started_at > :h{n} "
            f"ORDER BY started_at, id LIMIT :k{n}) AS a{n}"
        )
        params.update({f"s{n}": key[0], f"e{n}": key[1], f"h{n}": hi, f"k{n}": hidden[key] + 1})
    after = (
        text(" UNION ALL ".join(arms))
        .bindparams(*(bindparam(f"h{n}", type_=UTCDateTime()) for n in range(len(bounds))))
        .columns(
            Deployment.service,
            Deployment.environment,
            Deployment.id,
            Deployment.started_at,
            Deployment.completed_at,
        )
        .params(**params)
    )
    found: dict[tuple[str, str], dict[int, _Success]] = defaultdict(dict)
    for stmt in (inside, after):
        for service, environment, id_, started, completed in (await session.execute(stmt)).all():
            pair = (service, environment)
            if pair not in bounds or (
                stmt is inside and not (bounds[pair][0] < started <= bounds[pair][1])
            ):
                continue
            mine = by_id.get(id_)
            if mine is not None and (mine.created or mine.previous_status != "success"):
                visible_from = mine.pos + 1  # stored by this batch, at its turn
            else:
                visible_from = 0  # stored before (a success sent again included)
            found[(service, environment)][id_] = _Success(
                started, id_, completed or started, None, visible_from
            )
    # Successes that this batch turns into something else were seen before that.
    for item in items:
        key = (item.service, item.environment)
        if (
            key in bounds
            and item.row is not None
            and item.previous_status == "success"
            and item.status != "success"
            and item.started_at is not None
            and item.started_at > bounds[key][0]
        ):
            when = item.completed_at or item.started_at
            found[key][item.id] = _Success(item.started_at, item.id, when, item.pos, 2**62)
    out = {}
    for key, rows in found.items():
        ordered = sorted(rows.values(), key=lambda s: (s.started_at, s.id))
        out[key] = ([(s.started_at, s.id) for s in ordered], ordered)
    return out
