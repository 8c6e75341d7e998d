"""Registering deployments, one or many at a time: the one function behind the API, the
webhooks, ``dcc deploy import`` and ``dcc github backfill``.

:func:`record_many` gives exactly what registering the same deployments one after the
other would give (rows, commits, incidents opened and resolved, jobs) but with a
handful of statements per batch instead of several per deployment, so that years of
history import in minutes. ``deployments.service.record`` is ``record_many`` of one.

Order matters as it does one by one: a later item with the same ``external_id``
updates the earlier one, a failure is recovered only by a success registered before
it or already stored, a success resolves only the incident open at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments import rollups
from devops_center.deployments.batch_incidents import open_and_resolve_incidents
from devops_center.deployments.bulk import (
    Item,
    copy_records,
    copying,
    enqueue_all,
    insert_fn,
    job_row,
    new_ids,
    table_of,
)
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.deployments.rollup_values import among
from devops_center.deployments.schemas import FINAL_STATUSES, CommitIn, DeploymentIn
from devops_center.errors import Invalid
from devops_center.i18n import lazy
from devops_center.outbox import messages

PRODUCTION = "production"  # the environment whose successes users see ("fix is live")


def default_service(settings: Settings | None) -> str:
    """A deployment without a service belongs to the repository (GITHUB_REPO's name)."""
    if settings is not None and settings.github_repo:
        return settings.github_repo.split("/", 1)[1][:100]
    return "app"


@dataclass
class Registered:
    """What became of one item: its row id, whether it was new, and its final status.

    A new row also brings what was stored (``stored``: the columns as inserted but its
    id, and ``commits``: how many commits went in with it), so its caller needs no
    re-read."""

    id: int
    created: bool
    status: str
    stored: dict[str, Any] | None = None
    commits: int | None = None


def _values(data: DeploymentIn, source: str, settings: Settings | None) -> dict[str, Any]:
    return {
        "commit_sha": data.commit_sha,
        "commit_message": data.commit_message,
        "started_at": data.started_at,
        "completed_at": data.completed_at,
        "status": data.status,
        "duration_seconds": data.duration_seconds,
        "triggered_by": data.triggered_by,
        "tests_passed": data.tests_passed,
        "tests_failed": data.tests_failed,
        "environment": data.environment,
        "service": data.service or default_service(settings),
        "kind": data.kind,
        "external_id": data.external_id,
        "source": source[:20],
        "url": data.url,
        "failure_reason": data.failure_reason,
    }


def merge(deployment: Deployment, values: dict[str, Any]) -> None:
    """A repeat updates the row; a value left out (None) keeps what is stored, and a
    finished deployment never goes back to ``in_progress`` (late or reordered events)."""
    for name, value in values.items():
        if name in ("external_id", "source"):
            continue
        if name == "status":
            if value == "in_progress" and deployment.status in FINAL_STATUSES:
                continue
        elif value is None or (
            name in ("completed_at", "duration_seconds") and values["status"] == "in_progress"
        ):
            continue
        setattr(deployment, name, value)
    if deployment.status not in ("failed", "rolled_back"):
        deployment.failure_reason = None  # a re-run that succeeded has no failure
    if deployment.completed_at is not None:
        deployment.duration_seconds = max(
            0, int((deployment.completed_at - deployment.started_at).total_seconds())
        )


async def record_many(
    session: AsyncSession,
    items: Sequence[DeploymentIn],
    *,
    source: str = "api",
    settings: Settings | None = None,
    head_commits: Sequence[CommitIn | None] | None = None,
    announce: bool = True,
) -> list[Registered]:
    """Insert or update ``items`` (by ``external_id``) in the caller's transaction, in
    order, with everything that follows from each: commits stored (or fetched later by
    the worker), incidents opened for failures and resolved by successes.

    ``head_commits[i]`` (the known time of the deployed commit, e.g. from a webhook) is
    stored for item ``i`` when no commits were sent and GitHub can't be asked.
    ``announce`` enqueues the admins' "deployment finished" alert per final status;
    history being imported is not news, so the importers turn it off.
    """
    heads = list(head_commits) if head_commits is not None else [None] * len(items)
    if copying(session, len(items)):
        # A batch of thousands (an import): every statement of this transaction is
        # planned for its own values. PostgreSQL otherwise settles on a generic plan of
        # a prepared statement from its first executions — made when the tables were
        # small, it scans them whole once they have grown (an import slowed from 2,900
        # to 366 lines/s between 10k and 100k deployments).
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    out: list[Registered] = []
    chunk: list[Item] = []
    seen: set[str] = set()
    for pos, data in enumerate(items):
        # The same external id twice: the second must see the first stored.
        if data.external_id is not None and data.external_id in seen:
            out.extend(await _record_chunk(session, chunk, settings, announce))
            chunk, seen = [], set()
        if data.external_id is not None:
            seen.add(data.external_id)
        chunk.append(Item(pos, data, _values(data, source, settings), heads[pos]))
    if chunk:
        out.extend(await _record_chunk(session, chunk, settings, announce))
    return out


async def _record_chunk(
    session: AsyncSession, items: list[Item], settings: Settings | None, announce: bool
) -> list[Registered]:
    await _upsert_rows(session, items)
    fetch, shas_of = await _store_commits(session, items, settings)
    await open_and_resolve_incidents(session, items)
    jobs: list[dict[str, Any]] = []
    now = utcnow()
    for item in items:
        changed = item.created or item.previous_status != item.status
        if announce and item.status in FINAL_STATUSES and changed:
            jobs.append(
                job_row(
                    messages.NotifyAdmins(event="deployment_finished", deployment_id=item.id),
                    f"deployment_finished:{item.id}:{item.status}",
                    now,
                )
            )
        if item.id in fetch and item.status in FINAL_STATUSES:
            msg = messages.FetchDeploymentCommits(deployment_id=item.id)
            jobs.append(job_row(msg, f"{messages.FetchDeploymentCommits.kind}:{item.id}", now))
        elif announce and item.status == "success" and item.environment == PRODUCTION:
            # Its commits are known: the changelog learns what went live. Imported
            # history is not news: no "your fix is live" for fixes shipped long ago.
            live = messages.ChangelogDeployed(deployment_id=item.id)
            jobs.append(job_row(live, f"{messages.ChangelogDeployed.kind}:{item.id}", now))
    if jobs:
        await enqueue_all(session, jobs)
    # Rows and commits went in by Core statements or COPY: their roll-ups are recomputed
    # before COMMIT (deployments.rollups). What a new row is, is known here: no re-read.
    new = {
        i.id: rollups.NewRow(
            i.service, i.environment, i.started_at, i.completed_at, i.status, shas_of.get(i.id, [])
        )
        for i in items
        if i.created and i.started_at is not None
    }
    rollups.changed(session, [i.id for i in items if i.id not in new])
    rollups.changed_new(session, new)
    return [
        Registered(
            i.id,
            i.created,
            i.status,
            i.values if i.created else None,
            len(shas_of.get(i.id, ())) if i.created else None,
        )
        for i in items
    ]


# ------------------------------------------------------------------------ the rows


async def _upsert_rows(session: AsyncSession, items: list[Item]) -> None:
    now = utcnow()
    table = table_of(Deployment)
    keyed = [i for i in items if i.data.external_id is not None]
    plain = [i for i in items if i.data.external_id is None]
    if keyed and copying(session, len(keyed)):
        # Rows already stored are merged below; the others are new. A row that another
        # transaction adds meanwhile makes COPY fail on the unique key: the caller's
        # transaction is rolled back whole and nothing half-written stays.
        conn = session.get_bind()
        known = select(Deployment.external_id).where(
            among(conn, Deployment.external_id, [i.data.external_id for i in keyed])
        )
        stored_ids = {str(x) for x in (await session.execute(known)).scalars()}
        plain = plain + [i for i in keyed if str(i.data.external_id) not in stored_ids]
        stored = [i for i in keyed if str(i.data.external_id) in stored_ids]
        if stored:
            await _merge_stored(session, stored, now)
    elif keyed:
        stmt = (
            insert_fn(session)(table)
            .on_conflict_do_nothing(index_elements=["external_id"])
            .returning(table.c.id, table.c.external_id)
        )
        rows = [{**i.values, "created_at": now, "updated_at": now} for i in keyed]
        result = await session.execute(stmt, rows)
        inserted = {str(ext): int(id_) for id_, ext in result.all()}
        stored = []
        for item in keyed:
            ext = str(item.data.external_id)
            if ext in inserted:
                item.id = inserted[ext]
            else:
                stored.append(item)
        if stored:
            await _merge_stored(session, stored, now)
    if plain and copying(session, len(plain)):
        ids = await new_ids(session, table, len(plain))
        for item, id_ in zip(plain, ids, strict=True):
            item.id = id_
        # Every item's values have the keys of _values, in its order.
        columns = [*plain[0].values, "id", "created_at", "updated_at"]
        records = [(*i.values.values(), i.id, now, now) for i in plain]
        await copy_records(session, table, columns, records)
    elif plain:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        rows = [{**i.values, "created_at": now, "updated_at": now} for i in plain]
        result = await session.execute(stmt, rows)
        for item, (id_,) in zip(plain, result.all(), strict=True):
            item.id = int(id_)
    for item in items:
        if item.row is None:
            v = item.values
            item.service, item.environment, item.status = (
                v["service"],
                v["environment"],
                v["status"],
            )
            item.started_at, item.completed_at = v["started_at"], v["completed_at"]
            item.commit_sha, item.commit_message = v["commit_sha"], v["commit_message"]


async def _merge_stored(session: AsyncSession, stored: list[Item], now: datetime) -> None:
    by_ext = {str(i.data.external_id): i for i in stored}
    rows = (
        await session.execute(select(Deployment).where(Deployment.external_id.in_(list(by_ext))))
    ).scalars()
    found = {str(r.external_id): r for r in rows}
    for ext, item in by_ext.items():
        row = found.get(ext)
        if row is None:  # deleted between the two statements
            raise Invalid(lazy("The deployment could not be stored; try again"))
        item.row, item.id, item.created = row, row.id, False
        item.previous_status = row.status
        merge(row, item.values)
        row.updated_at = now
        item.service, item.environment, item.status = row.service, row.environment, row.status
        item.started_at, item.completed_at = row.started_at, row.completed_at
        item.commit_sha, item.commit_message = row.commit_sha, row.commit_message
    await session.flush()


# --------------------------------------------------------------------- the commits


_COMMIT_COLUMNS = ("deployment_id", "sha", "committed_at", "message", "author")


async def _store_commits(
    session: AsyncSession, items: list[Item], settings: Settings | None
) -> tuple[set[int], dict[int, list[tuple[str, datetime]]]]:
    """Store sent commits (they replace the stored ones); returns the ids whose commits
    are unknown and must be asked from GitHub, and the commits stored per deployment
    (sha, committed_at)."""
    replace = [i.id for i in items if i.data.commits is not None and not i.created]
    if replace:
        await rollups.before_change(session, replace)  # the old commits' first deploys
        await session.execute(
            delete(DeploymentCommit).where(DeploymentCommit.deployment_id.in_(replace))
        )
    without = [i for i in items if i.data.commits is None]
    has_some: set[int] = set()
    stored_before = [i.id for i in without if not i.created]
    if stored_before:
        stmt = (
            select(DeploymentCommit.deployment_id)
            .where(DeploymentCommit.deployment_id.in_(stored_before))
            .group_by(DeploymentCommit.deployment_id)
        )
        has_some = {int(x) for x in (await session.execute(stmt)).scalars()}
    github_on = settings is not None and settings.github_enabled().enabled
    rows: list[tuple[int, str, datetime, str | None, str | None]] = []
    fetch: set[int] = set()
    shas_of: dict[int, list[tuple[str, datetime]]] = {}

    def add(deployment_id: int, commits: Sequence[CommitIn]) -> None:
        unique: dict[str, CommitIn] = {}
        for commit in commits:
            unique.setdefault(commit.sha, commit)
        mine = shas_of[deployment_id] = []
        for c in unique.values():
            mine.append((c.sha, c.committed_at))
            rows.append((deployment_id, c.sha, c.committed_at, c.message, c.author))

    for item in items:
        if item.data.commits is not None:
            add(item.id, item.data.commits)
        elif item.id in has_some:
            continue
        elif not github_on:
            if item.head_commit is not None:
                add(item.id, [item.head_commit])
        else:
            fetch.add(item.id)
    if rows and copying(session, len(rows)):
        await copy_records(session, table_of(DeploymentCommit), list(_COMMIT_COLUMNS), rows)
    elif rows:
        await session.execute(
            insert(table_of(DeploymentCommit)),
            [dict(zip(_COMMIT_COLUMNS, r, strict=True)) for r in rows],
        )
    return fetch, shas_of
