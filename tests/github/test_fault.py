"""The fault test: 200 bugs, GitHub failing for a stretch, the worker SIGKILLed twice.

Afterwards exactly 200 issues exist, each bug linked to its own, none twice.

The worker is the real ``dcc worker`` in a subprocess. Time is compressed the way a
real clock would do it: after each kill the dead worker's leases are expired (a lease is
``DCC_JOB_LEASE_SECONDS``, a minute by default) and backed-off jobs are made due, instead
of sleeping through the waits. tests/ship/test_production.py waits them out for real.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from devops_center.db import utcnow
from devops_center.integrations.github.render import bug_id_from_body
from devops_center.outbox import messages
from devops_center.outbox.models import Job
from devops_center.support import service as support
from devops_center.support.models import BugLog
from tests.github.conftest import REPO
from tests.github.standin import StandIn

BUGS = 200


def _start_worker(settings: Any, standin: StandIn, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "GITHUB_TOKEN": "test-token",
        "GITHUB_REPO": REPO,
        "GITHUB_API_URL": standin.url,
        "DCC_GITHUB_TIMEOUT": "2",
        "DCC_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "x" * 40,
        "DCC_LOG_LEVEL": "WARNING",
    }
    env.pop("DCC_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "devops_center", "worker", "--concurrency", "8"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("ab"),
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


async def _linked(sessionmaker: Any) -> int:
    async with sessionmaker() as s:
        stmt = select(func.count()).where(BugLog.github_issue_number.is_not(None))
        return int(await s.scalar(stmt) or 0)


async def _time_passes(sessionmaker: Any, *, dead: subprocess.Popen[bytes] | None = None) -> None:
    """What minutes would do: backed-off jobs come due and the leases of a killed
    worker (``dead``) expire. Live workers' leases are left alone."""
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        if dead is not None:
            await s.execute(
                update(Job)
                .where(Job.status == "running", Job.locked_by.like(f"%:{dead.pid}:%"))
                .values(locked_until=now)
            )
        await s.execute(update(Job).where(Job.status == "pending").values(run_after=now))


async def _wait_for(sessionmaker: Any, target: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    linked = await _linked(sessionmaker)
    while linked < target and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        linked = await _linked(sessionmaker)
    return linked


async def test_200_bugs_survive_github_outage_and_two_kills(
    settings, sessionmaker, people, standin: StandIn, tmp_path: Path
) -> None:
    standin.fail(500, {"message": "Server Error"})  # GitHub is down when work starts
    # Each replacement worker is started while the previous one still runs (as a
    # supervisor would have it up again), so the test does not wait for its imports.
    workers = [_start_worker(settings, standin, tmp_path)]
    try:
        async with sessionmaker() as s, s.begin():
            for n in range(BUGS):
                await support.file_bug(
                    s,
                    settings=settings.model_copy(update={"bug_rate_limit_per_hour": 10_000}),
                    reporter_id=people["employee"].id,
                    report=support.BugReport(
                        title=f"Bug number {n}",
                        what_doing="Working",
                        expected="It works",
                        actual="It broke",
                        priority=("high", "medium", "low")[n % 3],
                    ),
                    source="web",
                )
        deadline = time.monotonic() + 30
        while standin.count("GET", "/user") < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert standin.count("GET", "/user") >= 3, "the worker never reached GitHub"
        assert await _linked(sessionmaker) == 0  # GitHub down: nothing linked, nothing lost

        workers.append(_start_worker(settings, standin, tmp_path))
        standin.recover()  # GitHub is back
        await _time_passes(sessionmaker)
        first = await _wait_for(sessionmaker, 40, timeout=30)
        _kill(workers[0])  # 1st SIGKILL, mid-stream
        assert 0 < first < BUGS
        await _time_passes(sessionmaker, dead=workers[0])

        workers.append(_start_worker(settings, standin, tmp_path))
        second = await _wait_for(sessionmaker, first + 60, timeout=30)
        _kill(workers[1])  # 2nd SIGKILL
        assert first < second < BUGS
        await _time_passes(sessionmaker, dead=workers[1])

        done = await _wait_for(sessionmaker, BUGS, timeout=40)
        assert done == BUGS
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _kill(proc)

    # Exactly 200 issues, each carrying one bug's marker, each bug linked to its own.
    assert len(standin.issues) == BUGS
    markers = [bug_id_from_body(issue["body"]) for issue in standin.issues.values()]
    assert len(set(markers)) == BUGS and None not in markers
    async with sessionmaker() as s:
        rows = (await s.execute(select(BugLog.id, BugLog.github_issue_number))).all()
        failed = await s.scalar(
            select(func.count()).where(
                Job.kind == messages.CreateGithubIssue.kind, Job.status != "done"
            )
        )
    assert failed == 0
    assert len({number for _, number in rows}) == BUGS
    for bug_id, number in rows:
        assert bug_id_from_body(standin.issues[number]["body"]) == bug_id
    assert standin.count("POST", f"/repos/{REPO}/issues") >= BUGS
