"""Writing durable work. Callers add jobs inside their own transaction (the outbox)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import NotFound
from devops_center.i18n import lazy
from devops_center.outbox.models import Job, KeyValue


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any] | None = None,
    unique_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 10,
) -> Job | None:
    """Add a job in the caller's transaction.

    With ``unique_key`` the job is added at most once, ever (periodic work uses a key per
    period so that several schedulers never double-run it); returns None if it exists.
    """
    values = {
        "kind": kind,
        "payload": payload or {},
        "unique_key": unique_key,
        "run_after": run_after or utcnow(),
        "max_attempts": max_attempts,
        "status": "pending",
        "attempts": 0,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    if unique_key is None:
        job = Job(**values)
        session.add(job)
        await session.flush()
        return job
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["unique_key"])
        .returning(Job.id)
    )
    job_id = (await session.execute(stmt)).scalar_one_or_none()
    if job_id is None:
        return None
    return await session.get(Job, job_id)


async def get_job(session: AsyncSession, *, job_id: int) -> Job:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(lazy("No such job"))
    return job


async def retry_job(session: AsyncSession, *, job_id: int) -> Job:
    """Put a failed (or stuck) job back in the queue, with a fresh attempt budget."""
    job = await get_job(session, job_id=job_id)
    job.status = "pending"
    job.attempts = 0
    job.run_after = utcnow()
    job.locked_until = None
    job.locked_by = None
    job.finished_at = None
    return job


async def list_jobs(
    session: AsyncSession, *, status: str | None = None, kind: str | None = None, limit: int = 50
) -> list[Job]:
    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Job.status == status)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return list((await session.execute(stmt)).scalars())


async def queue_counts(session: AsyncSession) -> dict[str, int]:
    """Jobs by status (for the dashboard and Prometheus)."""
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
    counts.update({status: int(n) for status, n in rows})
    return counts


# ----------------------------------------------------------------- key-value store


async def kv_get(session: AsyncSession, *, key: str) -> Any:
    # A fresh SELECT, not session.get(): kv_set writes with a Core upsert that the
    # identity map never sees, so a cached row would be stale after kv_set.
    row = (
        await session.execute(
            select(KeyValue.value, KeyValue.expires_at).where(KeyValue.key == key)
        )
    ).one_or_none()
    if row is None or (row.expires_at is not None and row.expires_at < utcnow()):
        return None
    return row.value


def kv_upsert(dialect: str, *, key: str, value: Any, ttl: timedelta | None = None) -> Executable:
    """The statement that stores ``value`` under ``key`` (insert or replace)."""
    now = utcnow()
    expires = now + ttl if ttl else None
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(KeyValue).values(key=key, value=value, expires_at=expires, updated_at=now)
    return stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={"value": stmt.excluded.value, "expires_at": expires, "updated_at": now},
    )


async def kv_set(
    session: AsyncSession, *, key: str, value: Any, ttl: timedelta | None = None
) -> None:
    dialect = session.get_bind().dialect.name
    await session.execute(kv_upsert(dialect, key=key, value=value, ttl=ttl))


async def kv_delete(session: AsyncSession, *, key: str) -> None:
    from sqlalchemy import delete

    await session.execute(delete(KeyValue).where(KeyValue.key == key))


async def purge_expired_kv(session: AsyncSession) -> int:
    from sqlalchemy import delete

    result = await session.execute(delete(KeyValue).where(KeyValue.expires_at < utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


__all__ = [
    "enqueue",
    "get_job",
    "kv_delete",
    "kv_get",
    "kv_set",
    "kv_upsert",
    "list_jobs",
    "purge_expired_kv",
    "queue_counts",
    "retry_job",
    "update",
]
