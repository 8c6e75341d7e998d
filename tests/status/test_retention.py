"""The retention job end to end, short intervals, removed checks, 30-day charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.db import utcnow
from devops_center.incidents.models import Incident
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.status import service as status
from devops_center.status.jobs import schedule_checks
from devops_center.status.models import CheckResult, CheckRollup, CheckState
from devops_center.status.probes import ProbeResult
from devops_center.worker import drain
from tests.conftest import make_settings


async def test_retention_job(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    old = (now - timedelta(days=8)).replace(minute=10, second=0, microsecond=0)
    async with sessionmaker() as s, s.begin():
        await s.execute(
            insert(CheckResult),
            [
                {
                    "check_name": "database",
                    "ok": 1,
                    "state": "up",
                    "response_ms": 3.0,
                    "message": None,
                    "checked_at": at,
                }
                for at in (old, old + timedelta(minutes=1), now - timedelta(hours=2))
            ],
        )
        done = await outbox.enqueue(s, messages.RunCheck(name="database"))
        assert done is not None
        done.status, done.finished_at = "done", now - timedelta(hours=2)
        await outbox.enqueue(s, messages.StatusRetention())
    settings = make_settings(db_url, tmp_path)
    assert await drain(settings, sessionmaker, kinds=["status.retention"]) == 1
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(CheckResult)) == 1
        rolled = (await s.execute(select(CheckRollup))).scalars().all()
        assert sorted(r.samples for r in rolled) == [1, 2]
        kinds = (await s.execute(select(Job.kind))).scalars().all()
    assert "status.check" not in kinds  # finished probe jobs are dropped after an hour


async def test_short_interval_schedules_each_bucket(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(
        db_url,
        tmp_path,
        checks=[{"name": "fast", "type": "tcp", "host": "127.0.0.1", "port": 9, "interval": 5}],
    )
    now = datetime(2026, 11, 28, 12, 0, 1, tzinfo=UTC)
    async with sessionmaker() as s, s.begin():
        await schedule_checks(settings, s, now=now)
        rows = (
            (
                await s.execute(
                    select(Job.run_after).where(Job.kind == "status.check").order_by(Job.run_after)
                )
            )
            .scalars()
            .all()
        )
    fast = [r for r in rows if r > now]
    # 12:00:01 → the 12:00:00 bucket now, then 12:00:05, :10 and :15 at their start
    assert [r.second for r in fast] == [5, 10, 15]


async def test_removed_check_forgotten_and_its_incident_closed(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    spec = status.CheckSpec("legacy", "tcp", False, retries=0)
    async with sessionmaker() as s, s.begin():
        await status.record_result(s, spec=spec, result=ProbeResult(False, None, "refused"))
    async with sessionmaker() as s, s.begin():
        assert await status.forget_removed_checks(s, make_settings(db_url, tmp_path)) == 1
    async with sessionmaker() as s:
        assert await s.get(CheckState, "legacy") is None
        incident = (await s.execute(select(Incident))).scalar_one()
        assert incident.resolved_at is not None


async def test_thirty_day_chart_uses_rollups(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=20)
    async with sessionmaker() as s, s.begin():
        await s.execute(
            insert(CheckRollup),
            [
                {
                    "check_name": "web",
                    "hour": hour,
                    "samples": 60,
                    "ups": 30,
                    "maintenance": 0,
                    "response_ms_avg": 40.0,
                    "response_ms_max": 90.0,
                }
            ],
        )
        await s.execute(
            insert(CheckResult),
            [
                {
                    "check_name": "web",
                    "ok": 1,
                    "state": "up",
                    "response_ms": 10.0,
                    "message": None,
                    "checked_at": now - timedelta(minutes=3),
                }
            ],
        )
        await status.set_rolled_until(s, now - timedelta(hours=1))
    async with sessionmaker() as s:
        points = await status.response_series(
            s,
            name="web",
            since=now - timedelta(days=30),
            until=now,
            bucket_seconds=4 * 3600,
            use_rollups=True,
        )
        raw_only = await status.response_series(
            s, name="web", since=now - timedelta(days=30), until=now, bucket_seconds=4 * 3600
        )
    assert [(p.samples, p.ups, p.avg_ms) for p in points] == [(60, 30, 40.0), (1, 1, 10.0)]
    assert [(p.samples, p.avg_ms) for p in raw_only] == [(1, 10.0)]
