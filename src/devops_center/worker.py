"""The worker: claims due jobs, runs them with retries and backoff, schedules periodic work.

An adapter like the web and the bot: the job kinds are declared in
:mod:`devops_center.outbox.messages` and handled in each feature's ``jobs`` module,
imported here (:func:`load_job_kinds`).

Any number of workers can run against one database: on PostgreSQL a job is claimed
with ``FOR UPDATE SKIP LOCKED``; on SQLite with a compare-and-set update. A claim is a
lease: a worker killed mid-job leaves it ``running`` with ``locked_until`` in the past,
and the next worker takes it again (jobs are safe to run twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import traceback
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.outbox import registry
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.outbox.registry import (
    HANDLERS,
    PERIODIC,
    JobContext,
    PermanentFailure,
    RetryLater,
    UnknownJob,
    backoff_delay,
)
from devops_center.processes.service import Heartbeat

log = logging.getLogger("devops_center.worker")

LEASE = timedelta(minutes=5)


def load_job_kinds() -> None:
    """Import every feature's job handlers and schedules (idempotent)."""
    import devops_center.apikit.jobs
    import devops_center.architecture.jobs
    import devops_center.brain.jobs
    import devops_center.deployments.jobs
    import devops_center.github.jobs
    import devops_center.notify.jobs
    import devops_center.outbox.housekeeping
    import devops_center.status.jobs
    import devops_center.support.jobs
    import devops_center.users.jobs  # noqa: F401


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randint(0, 1 << 16)}"  # noqa: S311


def _due(now: datetime) -> object:
    return or_(
        and_(Job.status == "pending", Job.run_after <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    owner: str,
    kinds: list[str] | None = None,
) -> Job | None:
    """Claim one due job, or None."""
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        stmt = select(Job.id).where(_due(now)).order_by(Job.run_after, Job.id).limit(1)  # type: ignore[arg-type]
        if kinds is not None:
            stmt = stmt.where(Job.kind.in_(kinds))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        job_id = (await session.execute(stmt)).scalar_one_or_none()
        if job_id is None:
            return None
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, _due(now))  # type: ignore[arg-type]
            .values(
                status="running",
                attempts=Job.attempts + 1,
                locked_by=owner,
                locked_until=now + LEASE,
                updated_at=now,
            )
            .returning(Job)
        )
        return result.scalar_one_or_none()


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, *, owner: str, **values: object
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == job.id, Job.locked_by == owner)
            .values(locked_until=None, locked_by=None, updated_at=utcnow(), **values)
        )


async def run_job(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    job: Job,
    *,
    owner: str,
    extras: dict[str, object] | None = None,
) -> str:
    """Run one claimed job and record its outcome. Returns the new status."""
    try:
        message, handler = registry.parse(job.kind, dict(job.payload or {}))
    except (UnknownJob, ValidationError) as exc:
        reason = str(exc) if isinstance(exc, UnknownJob) else f"malformed payload: {exc}"
        log.error("job %s (%s) parked: %s", job.id, job.kind, reason)
        await _finish(
            sessionmaker,
            job,
            owner=owner,
            status="parked",
            last_error=reason[:4000],
            finished_at=utcnow(),
        )
        return "parked"
    ctx = JobContext(
        settings=settings,
        sessionmaker=sessionmaker,
        job_id=job.id,
        attempt=job.attempts,
        kind=job.kind,
        extras=dict(extras or {}),
    )
    try:
        await handler(ctx, message)
    except PermanentFailure as exc:
        log.warning("job %s (%s) failed permanently: %s", job.id, job.kind, exc)
        await _finish(
            sessionmaker,
            job,
            owner=owner,
            status="failed",
            last_error=str(exc)[:4000],
            finished_at=utcnow(),
        )
        return "failed"
    except Exception as exc:
        delay = exc.delay if isinstance(exc, RetryLater) else backoff_delay(job.attempts)
        error = str(exc) if isinstance(exc, RetryLater) else _describe(exc)
        if job.attempts >= job.max_attempts:
            log.warning(
                "job %s (%s) gave up after %s attempts: %s", job.id, job.kind, job.attempts, error
            )
            await _finish(
                sessionmaker,
                job,
                owner=owner,
                status="failed",
                last_error=error[:4000],
                finished_at=utcnow(),
            )
            return "failed"
        log.info(
            "job %s (%s) attempt %s failed, retry in %.1fs: %s",
            job.id,
            job.kind,
            job.attempts,
            delay,
            error,
        )
        await _finish(
            sessionmaker,
            job,
            owner=owner,
            status="pending",
            last_error=error[:4000],
            run_after=utcnow() + timedelta(seconds=delay),
        )
        return "pending"
    await _finish(
        sessionmaker, job, owner=owner, status="done", last_error=None, finished_at=utcnow()
    )
    return "done"


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if log.isEnabledFor(logging.DEBUG):
        text += "\n" + "".join(traceback.format_exception(exc))
    return text


async def schedule_periodic(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
) -> int:
    """Enqueue each periodic job due now, once per period across all schedulers."""
    load_job_kinds()
    now = now or utcnow()
    added = 0
    async with sessionmaker() as session, session.begin():
        for spec in PERIODIC.values():
            if not spec.enabled(settings):
                continue
            key = spec.due_key(settings, now)
            if key is None:
                continue
            job = await outbox.enqueue(
                session,
                spec.message,
                unique_key=f"periodic:{spec.kind}:{key}",
                max_attempts=3,
            )
            added += job is not None
    return added


async def drain(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    max_jobs: int = 10_000,
    kinds: list[str] | None = None,
) -> int:
    """Run due jobs until none is left (tests, `dcc worker --once`). Returns jobs run."""
    load_job_kinds()
    owner = worker_id()
    ran = 0
    while ran < max_jobs:
        job = await claim(sessionmaker, owner=owner, kinds=kinds)
        if job is None:
            break
        await run_job(settings, sessionmaker, job, owner=owner)
        ran += 1
    return ran


async def run_worker(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    stop: asyncio.Event,
    concurrency: int = 4,
    poll_interval: float = 1.0,
    schedule_every: float = 15.0,
) -> None:
    """The worker loop: ``concurrency`` runners plus the periodic scheduler, until ``stop``."""
    load_job_kinds()

    owner = worker_id()
    log.info("worker %s started (%d runners, %d job kinds)", owner, concurrency, len(HANDLERS))

    async def runner() -> None:
        while not stop.is_set():
            try:
                job = await claim(sessionmaker, owner=owner)
            except Exception:
                log.exception("claiming a job failed; retrying")
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_interval)
                continue
            try:
                await run_job(settings, sessionmaker, job, owner=owner)
            except Exception:
                log.exception("recording the outcome of job %s failed", job.id)

    async def scheduler() -> None:
        while not stop.is_set():
            try:
                await schedule_periodic(settings, sessionmaker)
            except Exception:
                log.exception("periodic scheduling failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=schedule_every)

    heartbeat = Heartbeat.start(sessionmaker, "worker")
    try:
        await asyncio.gather(scheduler(), *(runner() for _ in range(concurrency)))
    finally:
        await heartbeat.stop()
    log.info("worker %s stopped", owner)
