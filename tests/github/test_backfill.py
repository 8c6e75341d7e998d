"""``dcc github backfill``: GITHUB_REPO's deployment history through the worker, against
the stand-in GitHub (workflow runs, deployments and their statuses, a rate limit)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from devops_center import worker
from devops_center.cli import app
from devops_center.db import make_engine, make_sessionmaker, utcnow
from devops_center.deployments import service as deployments
from devops_center.deployments.models import Deployment
from devops_center.github import backfill
from devops_center.github.models import GithubSyncState
from devops_center.migrations import runner
from devops_center.outbox import messages
from devops_center.outbox.models import Job
from devops_center.outbox.registry import JobContext
from tests.github.conftest import REPO
from tests.github.standin import StandIn

KINDS = [messages.BackfillGithubDeployments.kind]
DEPLOY_RUNS = 230
OTHER_RUNS = 20
RATE_LIMITED = {
    "message": "API rate limit exceeded for installation ID 1.",
    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
}


def _at(days_ago: float) -> str:
    return (utcnow() - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def history(standin: StandIn) -> dict[str, Any]:
    """250 runs in the last 20 days (230 of the deploy workflow: 3 pages of 100), 10 older
    than 40 days; 5 deployments (2 made by runs, 3 on their own), 2 older ones."""
    for i in range(10):
        standin.add_run(created=_at(45 + i))
    for i in range(2):
        standin.add_deployment(created=_at(50 + i), state="failure")
    runs = []
    for i in range(DEPLOY_RUNS + OTHER_RUNS):
        when = _at(20 - i * 20 / (DEPLOY_RUNS + OTHER_RUNS))
        if i % 12 == 5 and i // 12 < OTHER_RUNS:
            standin.add_run(created=when, name="tests")
        else:
            runs.append(
                standin.add_run(created=when, conclusion="failure" if i % 17 == 0 else "success")
            )
    assert len(runs) == DEPLOY_RUNS
    by_run = [standin.add_deployment(created=runs[-i]["created_at"], run=runs[-i]) for i in (1, 2)]
    alone = [standin.add_deployment(created=_at(3 - i), environment="staging") for i in range(3)]
    return {"runs": runs, "by_run": by_run, "alone": alone}


async def _count(sessionmaker: Any, *where: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(Deployment).where(*where)) or 0)


async def _start(sessionmaker: Any, settings: Any, **kw: Any) -> int:
    async with sessionmaker() as s, s.begin():
        job = await backfill.start(s, settings, **kw)
        return job.id


async def _progress(sessionmaker: Any) -> backfill.Progress:
    async with sessionmaker() as s:
        found = await backfill.progress(s)
    assert found is not None
    return found


async def _drain(settings: Any, sessionmaker: Any, **kw: Any) -> int:
    return await worker.drain(settings, sessionmaker, kinds=KINDS, **kw)


async def test_three_pages_imported_then_a_second_run_updates(
    settings, sessionmaker, standin: StandIn
) -> None:
    made = history(standin)
    since = utcnow() - timedelta(days=30)
    run_id = await _start(sessionmaker, settings, since=since)
    assert await _drain(settings, sessionmaker) == 4  # 3 pages of runs, 1 of deployments

    p = await _progress(sessionmaker)
    assert (p.run, p.state) == (run_id, "done")
    m = p.message
    assert (m.pages, m.listed, m.skipped, m.refused) == (4, 255, OTHER_RUNS, 0)
    # the deployments made by runs are the runs' rows (same external id as the webhook)
    assert (m.imported, m.updated) == (DEPLOY_RUNS + 3, 2)
    assert await _count(sessionmaker) == DEPLOY_RUNS + 3
    run = made["runs"][-1]
    async with sessionmaker() as s:
        row = (
            await s.execute(select(Deployment).where(Deployment.external_id == f"{run['id']}-1"))
        ).scalar_one()
        fetches = list(
            (
                await s.execute(
                    select(Job.payload).where(Job.kind == messages.FetchDeploymentCommits.kind)
                )
            ).scalars()
        )
        alerts = await s.scalar(select(func.count()).where(Job.kind == messages.NotifyAdmins.kind))
    assert row.commit_sha == run["head_sha"] and row.status == "success"
    assert row.environment == "production" and row.service == "app"
    assert row.source == "workflow_run"  # the first registration names it; one row
    # commits: the compare job of every finished deployment, once history is in; no news
    assert len(fetches) == DEPLOY_RUNS + 3
    assert all(f.get("announce") is False for f in fetches) and alerts == 0
    assert (
        await _count(sessionmaker, Deployment.external_id.like("gh-deployment-%")) == 3
    )  # the ones no run made, with their environment
    assert await _count(sessionmaker, Deployment.environment == "staging") == 3

    # A webhook redelivery of a backfilled run updates it.
    payload = {"action": "completed", "workflow_run": run, "repository": {"name": "app"}}
    async with sessionmaker() as s, s.begin():
        await deployments.record_from_workflow_run(s, payload, settings=settings)
    assert await _count(sessionmaker) == DEPLOY_RUNS + 3

    # A second run updates every row and adds none.
    second = await _start(sessionmaker, settings, since=since)
    assert second != run_id
    await _drain(settings, sessionmaker)
    p = await _progress(sessionmaker)
    assert (p.run, p.state, p.message.imported, p.message.updated) == (
        second,
        "done",
        0,
        DEPLOY_RUNS + 5,
    )
    assert await _count(sessionmaker) == DEPLOY_RUNS + 3


async def test_since_and_until_filter(settings, sessionmaker, standin: StandIn) -> None:
    made = history(standin)
    # everything older than 60 days, nothing after 30 days ago: only the old history
    since = utcnow() - timedelta(days=70)
    await _start(sessionmaker, settings, since=since, until=utcnow() - timedelta(days=30))
    await _drain(settings, sessionmaker)
    p = await _progress(sessionmaker)
    assert (p.state, p.message.imported, p.message.listed) == ("done", 12, 12)
    assert await _count(sessionmaker) == 12
    assert await _count(sessionmaker, Deployment.started_at >= utcnow() - timedelta(days=30)) == 0
    # since 10 days ago: the newest half of the runs, the 5 recent deployments
    await _start(sessionmaker, settings, since=utcnow() - timedelta(days=10))
    await _drain(settings, sessionmaker)
    recent = [r for r in made["runs"] if r["created_at"] >= _at(10)]
    p = await _progress(sessionmaker)
    assert p.message.imported == len(recent) + 3 - 0
    assert await _count(sessionmaker) == 12 + len(recent) + 3


async def test_a_rate_limit_in_the_middle_pauses_and_resumes_with_nothing_lost(
    settings, sessionmaker, standin: StandIn
) -> None:
    history(standin)
    await _start(sessionmaker, settings, since=utcnow() - timedelta(days=30))
    assert await _drain(settings, sessionmaker, max_jobs=1) == 1  # page 1
    standin.fail(
        403,
        RATE_LIMITED,
        headers={
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time()) + 600),
        },
        remaining=1,
        only=f"GET /repos/{REPO}/actions/runs",
    )
    assert await _drain(settings, sessionmaker) == 1  # page 2: paused, not failed
    p = await _progress(sessionmaker)
    assert p.state == "paused" and p.message.page == 2 and p.message.pages == 1
    assert p.retry_at is not None and p.retry_at > utcnow() + timedelta(minutes=9)
    assert "rate limit" in (p.last_error or "")
    async with sessionmaker() as s:
        state = await s.get(GithubSyncState, REPO)
        assert state is not None and state.paused_until is not None
    assert await _drain(settings, sessionmaker) == 0  # waiting for the reset
    assert 80 < p.message.imported < 100  # page 1's deploy runs, no more
    assert await _count(sessionmaker) == p.message.imported

    # The reset passes.
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).where(Job.kind.in_(KINDS)).values(run_after=utcnow()))
        await s.execute(update(GithubSyncState).values(paused_until=utcnow()))
    assert await _drain(settings, sessionmaker) == 3
    p = await _progress(sessionmaker)
    assert p.state == "done" and p.message.pages == 4
    assert (p.message.imported, p.message.updated) == (DEPLOY_RUNS + 3, 2)
    assert "rate limit" in (p.message.last_error or "")  # kept for --status
    assert await _count(sessionmaker) == DEPLOY_RUNS + 3


async def test_a_worker_killed_after_the_commit_counts_nothing_twice(
    settings, sessionmaker, standin: StandIn
) -> None:
    history(standin)
    await _start(sessionmaker, settings, since=utcnow() - timedelta(days=30))
    job = await worker.claim(sessionmaker, owner="w1", kinds=KINDS, lease=60)
    assert job is not None
    msg = messages.BackfillGithubDeployments.model_validate(job.payload)
    ctx = JobContext(settings, sessionmaker, job_id=job.id, attempt=1, kind=job.kind)
    await backfill.run_page(ctx, msg)  # committed; the worker dies before marking it done
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(Job).where(Job.id == job.id).values(locked_until=utcnow() - timedelta(1))
        )
    assert await _drain(settings, sessionmaker) == 4  # the page again (a no-op), then 3
    p = await _progress(sessionmaker)
    assert (p.state, p.message.pages, p.message.imported) == ("done", 4, DEPLOY_RUNS + 3)
    assert await _count(sessionmaker) == DEPLOY_RUNS + 3


async def test_a_dry_run_stores_nothing(settings, sessionmaker, standin: StandIn) -> None:
    history(standin)
    await _start(sessionmaker, settings, since=utcnow() - timedelta(days=30), dry_run=True)
    await _drain(settings, sessionmaker)
    p = await _progress(sessionmaker)
    assert p.state == "done" and p.message.dry_run and p.message.pages == 4
    assert p.message.imported == DEPLOY_RUNS + 5  # a dry run can't see its own rows
    assert await _count(sessionmaker) == 0


async def test_refusals(settings, sessionmaker) -> None:
    with pytest.raises(backfill.Refused, match="in the future"):
        await _start(sessionmaker, settings, since=utcnow() + timedelta(days=1))
    with pytest.raises(backfill.Refused, match="--until must be after --since"):
        await _start(sessionmaker, settings, since=utcnow(), until=utcnow() - timedelta(days=1))
    off = settings.model_copy(update={"github_token": None})
    with pytest.raises(backfill.Refused, match="GitHub is off"):
        await _start(sessionmaker, off, since=utcnow() - timedelta(days=1))
    first = await _start(sessionmaker, settings, since=utcnow() - timedelta(days=1))
    with pytest.raises(backfill.Refused, match=f"already running \\(job {first}\\)"):
        await _start(sessionmaker, settings, since=utcnow() - timedelta(days=1))


# ---------------------------------------------------------------------------- CLI


def test_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: StandIn) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    runner.upgrade(url)
    for name in ("GITHUB_TOKEN", "GITHUB_REPO", "GITHUB_WEBHOOK_SECRET", "DCC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DCC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    cli = CliRunner()

    def backfill_cli(*args: str) -> Any:
        return cli.invoke(app, ["github", "backfill", *args])

    off = backfill_cli("--since", "2026-01-01")
    assert off.exit_code == 2 and off.output.strip().startswith("GitHub is off: GITHUB_TOKEN")
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("GITHUB_REPO", REPO)
    monkeypatch.setenv("GITHUB_API_URL", standin.url)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    for args, said in (
        (["--since", "yesterday"], "--since 'yesterday' is not a date (YYYY-MM-DD)"),
        (["--since", "2026-13-01"], "--since '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--since", tomorrow], f"--since {tomorrow} is in the future"),
        (["--since", "2026-03-01", "--until", "2026-02-01"], "--until must be after --since"),
        ([], "--since is required (YYYY-MM-DD)"),
    ):
        refused = backfill_cli(*args)
        assert refused.exit_code == 2 and refused.output.strip() == said, refused.output
    assert backfill_cli("--status").output.strip() == "no backfill has run"

    queued = backfill_cli("--since", "2026-01-01", "--until", "2026-02-01")
    assert queued.exit_code == 0, queued.output
    assert queued.output.startswith("backfill queued: job 1;")
    again = backfill_cli("--since", "2026-01-01")
    assert again.exit_code == 2 and "already running (job 1)" in again.output
    status = backfill_cli("--status").output
    assert "backfill 1, since 2026-01-01 00:00 until 2026-02-02 00:00 UTC: running" in status

    async def work() -> None:
        engine = make_engine(url, pool_size=1)
        try:
            from devops_center.config import get_settings

            await worker.drain(get_settings(), make_sessionmaker(engine), kinds=KINDS)
        finally:
            await engine.dispose()

    asyncio.run(work())
    status = backfill_cli("--status").output
    assert ": done" in status and "pages fetched 2, listed 0, imported 0" in status


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_admin_github_shows_the_backfill(
    settings, sessionmaker, standin: StandIn, as_role: Any
) -> None:
    history(standin)
    await _start(sessionmaker, settings, since=utcnow() - timedelta(days=30))
    await _drain(settings, sessionmaker, max_jobs=1)
    standin.fail(
        429,
        RATE_LIMITED,
        headers={"retry-after": "900"},
        remaining=1,
        only=f"GET /repos/{REPO}/actions/runs",
    )
    await _drain(settings, sessionmaker)
    owner = await as_role("owner")
    page = (await owner.get("/admin/github")).text
    assert "History backfill" in page and '<span class="badge paused">paused</span>' in page
    assert '<strong class="backfill-pages">1</strong>' in page
    assert "Paused until" in page and "GitHub 429: API rate limit exceeded" in page
    assert "dcc github backfill --status" in page
