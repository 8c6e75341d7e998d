"""The durable job queue: claim, retry with backoff, permanent failure, leases, periodic."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from devops_center.db import utcnow
from devops_center.jobs import registry, worker
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job

CALLS: list[dict[str, Any]] = []


@registry.job("test.ok")
async def _ok(ctx: registry.JobContext, payload: dict[str, Any]) -> None:
    CALLS.append(payload)


@registry.job("test.flaky")
async def _flaky(ctx: registry.JobContext, payload: dict[str, Any]) -> None:
    if ctx.attempt < 3:
        raise ConnectionError("stand-in is down")
    CALLS.append(payload)


@registry.job("test.fatal")
async def _fatal(ctx: registry.JobContext, payload: dict[str, Any]) -> None:
    raise registry.PermanentFailure("422 Validation Failed")


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


async def _make_due(sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))


async def test_job_runs_once(settings, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, kind="test.ok", payload={"n": 1})
    assert await worker.drain(settings, sessionmaker) == 1
    assert CALLS == [{"n": 1}]
    assert await worker.drain(settings, sessionmaker) == 0
    async with sessionmaker() as s:
        job = (await s.execute(select(Job))).scalar_one()
    assert job.status == "done" and job.finished_at is not None


async def test_retry_with_backoff_then_success(settings, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, kind="test.flaky", payload={"n": 2})
    await worker.drain(settings, sessionmaker)
    async with sessionmaker() as s:
        job = (await s.execute(select(Job))).scalar_one()
    assert job.status == "pending" and job.attempts == 1
    assert "stand-in is down" in (job.last_error or "")
    assert job.run_after > utcnow()
    for _ in range(2):
        await _make_due(sessionmaker)
        await worker.drain(settings, sessionmaker)
    assert CALLS == [{"n": 2}]


async def test_permanent_failure_is_recorded_and_retryable(settings, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        job = await outbox.enqueue(s, kind="test.fatal")
    await worker.drain(settings, sessionmaker)
    async with sessionmaker() as s, s.begin():
        stored = await s.get(Job, job.id)
        assert stored.status == "failed" and stored.last_error == "422 Validation Failed"
        await outbox.retry_job(s, job_id=job.id)
    async with sessionmaker() as s:
        assert (await s.get(Job, job.id)).status == "pending"


async def test_expired_lease_is_claimed_again(settings, sessionmaker) -> None:
    """A worker killed mid-job leaves it running; after the lease another worker takes it."""
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, kind="test.ok", payload={"n": 3})
    claimed = await worker.claim(sessionmaker, owner="dead-worker")
    assert claimed is not None
    assert await worker.claim(sessionmaker, owner="other") is None  # lease still held
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert await worker.drain(settings, sessionmaker) == 1
    assert CALLS == [{"n": 3}]


async def test_unique_key_and_periodic_once_per_period(settings, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        assert await outbox.enqueue(s, kind="test.ok", unique_key="k1") is not None
        assert await outbox.enqueue(s, kind="test.ok", unique_key="k1") is None
    now = utcnow()
    first = await worker.schedule_periodic(settings, sessionmaker, now=now)
    second = await worker.schedule_periodic(settings, sessionmaker, now=now)
    assert first >= 1 and second == 0
    async with sessionmaker() as s:
        n = await s.scalar(select(func.count()).where(Job.kind == "maintenance.purge"))
    assert n == 1
