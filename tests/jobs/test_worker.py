"""The durable job queue: typed messages, claim, retry with backoff, permanent failure,
leases, periodic work, and jobs this code cannot run parked with the reason."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from devops_center import worker
from devops_center.db import utcnow
from devops_center.outbox import registry
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job

CALLS: list[dict[str, Any]] = []


@registry.message("test.ok")
class Ok(registry.JobMessage):
    n: int = 0


@registry.message("test.flaky")
class Flaky(registry.JobMessage):
    n: int


@registry.message("test.fatal")
class Fatal(registry.JobMessage):
    pass


@registry.message("test.slow")
class Slow(registry.JobMessage):
    seconds: float


@registry.message("test.writes")
class Writes(registry.JobMessage):
    pass


@registry.handles(Writes)
async def _writes(ctx: registry.JobContext, msg: Writes) -> None:
    async with ctx.sessionmaker() as session:
        await session.execute(select(func.count(Job.id)))
    CALLS.append({"writes": ctx.attempt})


@registry.handles(Ok)
async def _ok(ctx: registry.JobContext, msg: Ok) -> None:
    CALLS.append(msg.model_dump())


@registry.handles(Flaky)
async def _flaky(ctx: registry.JobContext, msg: Flaky) -> None:
    if ctx.attempt < 3:
        raise ConnectionError("stand-in is down")
    CALLS.append(msg.model_dump())


@registry.handles(Fatal)
async def _fatal(ctx: registry.JobContext, msg: Fatal) -> None:
    raise registry.PermanentFailure("422 Validation Failed")


@registry.handles(Slow)
async def _slow(ctx: registry.JobContext, msg: Slow) -> None:
    CALLS.append({"slow": ctx.attempt})
    await asyncio.sleep(msg.seconds)


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


async def _make_due(sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))


async def test_job_runs_once(settings, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, Ok(n=1))
    assert await worker.drain(settings, sessionmaker) == 1
    assert CALLS == [{"n": 1}]
    assert await worker.drain(settings, sessionmaker) == 0
    async with sessionmaker() as s:
        job = (await s.execute(select(Job))).scalar_one()
    assert job.status == "done" and job.finished_at is not None


async def test_retry_with_backoff_then_success(settings, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, Flaky(n=2))
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
        job = await outbox.enqueue(s, Fatal())
    await worker.drain(settings, sessionmaker)
    async with sessionmaker() as s, s.begin():
        stored = await s.get(Job, job.id)
        assert stored.status == "failed" and stored.last_error == "422 Validation Failed"
        await outbox.retry_job(s, job_id=job.id)
    async with sessionmaker() as s:
        assert (await s.get(Job, job.id)).status == "pending"


async def test_the_job_of_a_killed_worker_is_taken_again_after_the_lease(
    settings, sessionmaker
) -> None:
    """A worker killed mid-job (it claimed and never finished) leaves the job running;
    once its lease runs out another worker takes it, as a second attempt."""
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, Ok(n=3))
    claimed = await worker.claim(sessionmaker, owner="killed-worker", lease=1.0)
    assert claimed is not None and claimed.attempts == 1
    assert await worker.claim(sessionmaker, owner="other") is None  # lease still held
    await asyncio.sleep(1.2)
    assert await worker.drain(settings, sessionmaker) == 1
    assert CALLS == [{"n": 3}]
    async with sessionmaker() as s:
        job = await s.get(Job, claimed.id)
    assert job.status == "done" and job.attempts == 2 and job.locked_by is None


async def test_a_slow_job_keeps_its_lease_and_runs_once(settings, sessionmaker) -> None:
    """A job running for several leases is renewed by its worker all along: a second
    worker polling the queue meanwhile never takes it."""
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, Slow(seconds=3.0))
    job = await worker.claim(sessionmaker, owner="slow-worker", lease=1.2)
    assert job is not None
    running = asyncio.create_task(
        worker.run_job(settings, sessionmaker, job, owner="slow-worker", lease=1.2)
    )
    taken = []
    while not running.done():
        other = await worker.claim(sessionmaker, owner="second-worker", lease=1.2)
        if other is not None:
            taken.append(other.id)
        await asyncio.sleep(0.1)
    assert await running == "done"
    assert taken == [] and CALLS == [{"slow": 1}]
    async with sessionmaker() as s:
        stored = await s.get(Job, job.id)
    assert stored.status == "done" and stored.attempts == 1


class _DatabaseAway:
    """A sessionmaker whose database refuses the first ``outage`` connections, as while
    PostgreSQL restarts."""

    def __init__(self, real, outage: int) -> None:
        self.real, self.outage = real, outage

    def __call__(self):
        if self.outage:
            self.outage -= 1
            raise ConnectionRefusedError("the database is restarting")
        return self.real()


async def test_the_outcome_of_a_job_waits_for_a_database_that_is_away(
    settings, sessionmaker
) -> None:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, Ok(n=5))
    job = await worker.claim(sessionmaker, owner="w")
    assert job is not None
    assert await worker.run_job(settings, _DatabaseAway(sessionmaker, 2), job, owner="w") == "done"
    async with sessionmaker() as s:
        stored = await s.get(Job, job.id)
    assert stored.status == "done" and stored.locked_by is None and CALLS == [{"n": 5}]


async def test_a_database_outage_never_makes_a_job_give_up(settings, sessionmaker) -> None:
    """A job on its last attempt (its first worker was killed) meets the database
    restarting: the attempt is not counted, the job waits and then runs to the end."""
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, Writes(), max_attempts=2)
    assert await worker.claim(sessionmaker, owner="killed-worker", lease=0.1) is not None
    await asyncio.sleep(0.2)
    job = await worker.claim(sessionmaker, owner="w")
    assert job is not None and job.attempts == 2
    away = _DatabaseAway(sessionmaker, 1)
    assert await worker.run_job(settings, away, job, owner="w") == "pending"
    async with sessionmaker() as s:
        stored = await s.get(Job, job.id)
    assert stored.status == "pending" and stored.attempts == 1
    assert "the database is restarting" in (stored.last_error or "") and CALLS == []
    await _make_due(sessionmaker)
    assert await worker.drain(settings, sessionmaker) == 1
    async with sessionmaker() as s:
        stored = await s.get(Job, job.id)
    assert stored.status == "done" and stored.attempts == 2 and CALLS == [{"writes": 2}]


async def test_unique_key_and_periodic_once_per_period(settings, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        assert await outbox.enqueue(s, Ok(), unique_key="k1") is not None
        assert await outbox.enqueue(s, Ok(), unique_key="k1") is None
    now = utcnow()
    first = await worker.schedule_periodic(settings, sessionmaker, now=now)
    second = await worker.schedule_periodic(settings, sessionmaker, now=now)
    assert first >= 1 and second == 0
    async with sessionmaker() as s:
        n = await s.scalar(select(func.count()).where(Job.kind == "maintenance.purge"))
    assert n == 1


async def test_unknown_or_malformed_jobs_are_parked_with_the_reason(settings, sessionmaker) -> None:
    """A row this code cannot run (a kind from a newer release, a payload an older one
    wrote) is parked, visible with its reason, and never blocks the queue."""
    async with sessionmaker() as s, s.begin():
        s.add(Job(kind="test.from_the_future", payload={}, run_after=utcnow()))
        s.add(Job(kind="test.flaky", payload={"n": "not a number"}, run_after=utcnow()))
        s.add(Job(kind="test.ok", payload={"n": 5, "extra": 1}, run_after=utcnow()))
        await outbox.enqueue(s, Ok(n=4))
    assert await worker.drain(settings, sessionmaker) == 4
    assert CALLS == [{"n": 4}]
    async with sessionmaker() as s:
        jobs = {j.kind + str(j.payload.get("n", "")): j for j in (await s.scalars(select(Job)))}
    assert jobs["test.from_the_future"].status == "parked"
    assert "no handler for job kind 'test.from_the_future'" in (
        jobs["test.from_the_future"].last_error or ""
    )
    assert jobs["test.flakynot a number"].status == "parked"
    assert "malformed payload" in (jobs["test.flakynot a number"].last_error or "")
    assert jobs["test.ok5"].status == "parked"  # an unknown field: not silently dropped
    assert jobs["test.ok4"].status == "done"
    async with sessionmaker() as s:
        assert (await outbox.queue_counts(s))["parked"] == 3


def test_a_message_is_stored_as_its_json() -> None:
    assert Flaky(n=2).model_dump(mode="json") == {"n": 2}
    assert Flaky.kind == "test.flaky"
    with pytest.raises(RuntimeError, match="declared twice"):
        registry.message("test.ok")(type("Other", (registry.JobMessage,), {}))


async def test_the_admin_jobs_page_shows_parked_and_failed_jobs_and_retries(
    settings, sessionmaker, as_role
) -> None:
    async with sessionmaker() as s, s.begin():
        s.add(Job(kind="test.from_the_future", payload={}, run_after=utcnow()))
        await outbox.enqueue(s, Fatal())
    await worker.drain(settings, sessionmaker)
    owner = await as_role("owner")
    page = await owner.get("/admin/jobs")
    assert page.status_code == 200
    assert "test.from_the_future" in page.text and "no handler for job kind" in page.text
    assert "422 Validation Failed" in page.text and ">Parked<" in page.text
    async with sessionmaker() as s:
        parked = (await s.execute(select(Job).where(Job.status == "parked"))).scalar_one()
    from tests.conftest import post_form

    done = await post_form(owner, f"/admin/jobs/{parked.id}/retry", {}, form_page="/admin/jobs")
    assert done.status_code == 303
    async with sessionmaker() as s:
        assert (await s.get(Job, parked.id)).status == "pending"
    assert (await (await as_role("employee")).get("/admin/jobs")).status_code == 403
