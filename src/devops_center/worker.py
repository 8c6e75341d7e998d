"""The worker: claims due jobs, runs them with retries and backoff, schedules periodic work.

An adapter like the web and the bot: the job kinds are declared in
:mod:`devops_center.outbox.messages` and handled in each feature's ``jobs`` module,
imported here (:func:`load_job_kinds`).

Any number of workers can run against one database: on PostgreSQL a job is claimed
with ``FOR UPDATE SKIP LOCKED``; on SQLite with a compare-and-set update. A claim is a
lease (``DCC_JOB_LEASE_SECONDS``) that the worker renews while the job runs: a slow job
stays with its worker, while a worker killed mid-job leaves it ``running`` with a
``locked_until`` that soon passes, and the next worker takes it again (jobs are safe to
run twice). The outcome of a job is recorded even across a database restart: the worker
keeps trying for :data:`FINISH_PATIENCE` rather than forget a job it ran.
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
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.db import db_error_kind, db_error_summary, utcnow
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

# The lease of a claim when the caller names none (tests, tools); workers use the setting.
DEFAULT_LEASE = 60.0
# How long recording a job's outcome waits for a database that is away: a restart or a
# fail-over takes seconds to a minute, and an outcome given up on makes the job run again.
FINISH_PATIENCE = 120.0
# The longest wait before a job the database's absence interrupted runs again.
OUTAGE_RETRY_MAX = 30.0


def load_job_kinds() -> None:
    """Import every feature's job handlers and schedules (idempotent)."""
    import devops_center.apikit.jobs
    import devops_center.architecture.jobs
    import devops_center.brain.jobs
    import devops_center.changelog.jobs
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
    lease: float = DEFAULT_LEASE,
) -> Job | None:
    """Claim one due job for ``lease`` seconds, or None."""
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
                locked_until=now + timedelta(seconds=lease),
                updated_at=now,
            )
            .returning(Job)
        )
        return result.scalar_one_or_none()


async def keep_lease(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, *, owner: str, lease: float
) -> None:
    """Renew this worker's lease on ``job`` every third of ``lease`` until cancelled.

    Two renewals may fail (the database restarting) before the lease runs out; a lease
    found taken by another worker is not fought over (the job is safe to run twice).
    """
    while True:
        await asyncio.sleep(lease / 3)
        try:
            async with sessionmaker() as session, session.begin():
                now = utcnow()
                result = await session.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.locked_by == owner, Job.status == "running")
                    .values(locked_until=now + timedelta(seconds=lease), updated_at=now)
                )
        except Exception as exc:
            log.warning("renewing the lease of job %s failed: %s", job.id, db_error_summary(exc))
            continue
        if getattr(result, "rowcount", 1) == 0:
            log.warning("job %s (%s): lease lost to another worker", job.id, job.kind)
            return


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, *, owner: str, **values: object
) -> None:
    """Record a job's outcome, waiting out a database that is away for a while."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + FINISH_PATIENCE
    pause = 0.5
    while True:
        try:
            async with sessionmaker() as session, session.begin():
                await session.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.locked_by == owner)
                    .values(locked_until=None, locked_by=None, updated_at=utcnow(), **values)
                )
            return
        except Exception as exc:
            if db_error_kind(exc) != "unavailable" or loop.time() + pause > give_up:
                raise
            log.warning(
                "recording the outcome of job %s waits for the database: %s",
                job.id,
                db_error_summary(exc),
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, 5.0)


async def run_job(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    job: Job,
    *,
    owner: str,
    extras: dict[str, object] | None = None,
    lease: float | None = None,
) -> str:
    """Run one claimed job, renewing its lease, and record its outcome. Returns the new status."""
    keeper = asyncio.create_task(
        keep_lease(
            sessionmaker,
            job,
            owner=owner,
            lease=float(settings.job_lease_seconds) if lease is None else lease,
        )
    )
    try:
        return await _run_job(settings, sessionmaker, job, owner=owner, extras=extras)
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper


async def _run_job(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    job: Job,
    *,
    owner: str,
    extras: dict[str, object] | None,
) -> str:
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
        if _database_away(exc):
            # The job did not fail, the database went away under it: try again soon, and
            # do not count the attempt, so a restart never makes a job give up.
            log.info("job %s (%s) waits for the database: %s", job.id, job.kind, error)
            await _finish(
                sessionmaker,
                job,
                owner=owner,
                status="pending",
                attempts=max(job.attempts - 1, 0),
                last_error=error[:4000],
                run_after=utcnow() + timedelta(seconds=min(delay, OUTAGE_RETRY_MAX)),
            )
            return "pending"
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


def _database_away(exc: BaseException) -> bool:
    """Whether a job's error is the database being unreachable (restarting, refusing
    connections), not the job's own failure. Errors of the services a job calls (GitHub,
    Telegram) are not: their HTTP clients raise their own types."""
    if isinstance(exc, ConnectionRefusedError):
        return True  # asyncpg's connect, which SQLAlchemy does not wrap
    return isinstance(exc, DBAPIError | PoolTimeout) and db_error_kind(exc) == "unavailable"


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
    lease = float(settings.job_lease_seconds)
    ran = 0
    while ran < max_jobs:
        job = await claim(sessionmaker, owner=owner, kinds=kinds, lease=lease)
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
    lease = float(settings.job_lease_seconds)
    log.info("worker %s started (%d runners, %d job kinds)", owner, concurrency, len(HANDLERS))

    async def runner() -> None:
        while not stop.is_set():
            try:
                job = await claim(sessionmaker, owner=owner, lease=lease)
            except Exception as exc:
                if db_error_kind(exc) == "unavailable":
                    log.warning("claiming a job failed; retrying: %s", db_error_summary(exc))
                else:
                    log.exception("claiming a job failed; retrying")
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_interval)
                continue
            try:
                await run_job(settings, sessionmaker, job, owner=owner, lease=lease)
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
