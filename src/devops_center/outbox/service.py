"""Writing durable work. Callers add jobs inside their own transaction (the outbox)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import NotFound
from devops_center.i18n import lazy
from devops_center.outbox.models import JOB_STATUSES, Job
from devops_center.outbox.registry import JobMessage


async def enqueue(
    session: AsyncSession,
    message: JobMessage,
    *,
    unique_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 10,
) -> Job | None:
    """Add the job ``message`` (see :mod:`devops_center.outbox.messages`) in the caller's
    transaction.

    With ``unique_key`` the job is added at most once, ever (periodic work uses a key per
    period so that several schedulers never double-run it); returns None if it exists.
    """
    if not message.kind:
        raise TypeError(f"{type(message).__name__} is not a declared job kind")
    values = {
        "kind": message.kind,
        "payload": message.model_dump(mode="json", exclude_defaults=True),
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
        .returning(Job)  # the row itself: no second round trip to load it
    )
    return (await session.scalars(stmt)).one_or_none()


async def record_progress(session: AsyncSession, *, job_id: int, message: JobMessage) -> None:
    """A job that works in steps stores where it stands as its own payload, in the
    transaction of the step's effects: a run repeated after a crash reads it (the
    message must stay of the job's kind)."""
    job = await get_job(session, job_id=job_id)
    if job.kind != message.kind:
        raise TypeError(f"job {job_id} is a {job.kind}, not a {message.kind}")
    job.payload = message.model_dump(mode="json", exclude_defaults=True)


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
    session: AsyncSession,
    *,
    status: str | None = None,
    statuses: list[str] | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> list[Job]:
    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Job.status == status)
    if statuses:
        stmt = stmt.where(Job.status.in_(statuses))
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return list((await session.execute(stmt)).scalars())


async def queue_counts(session: AsyncSession) -> dict[str, int]:
    """Jobs by status (for the dashboard and Prometheus)."""
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts = dict.fromkeys(JOB_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


async def purge_finished(
    session: AsyncSession, *, older_than: timedelta = timedelta(days=7)
) -> int:
    """Delete done jobs older than the cut-off (failed and parked ones stay for the admin)."""
    result = await session.execute(
        delete(Job).where(Job.status == "done", Job.finished_at < utcnow() - older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
