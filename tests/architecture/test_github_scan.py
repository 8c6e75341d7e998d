"""The worker scans the GitHub repository: tarball of the default branch from the stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from devops_center import worker
from devops_center.architecture import service as architecture
from devops_center.architecture.models import ArchModule, ArchScan
from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.github.models import GithubSyncState
from devops_center.outbox.models import Job
from tests.architecture import tree as fixture
from tests.conftest import post_form
from tests.github.conftest import REPO, github_settings
from tests.github.standin import StandIn

KINDS = [architecture.JOB_SCAN_GITHUB]
ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn(repo=REPO).start()
    server.tarball = fixture.tarball()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, standin: StandIn) -> Settings:
    return github_settings(db_url, tmp_path, standin)


async def _queue(sessionmaker: Any, *, force: bool = False) -> None:
    async with sessionmaker() as s, s.begin():
        await architecture.enqueue_github_scan(s, force=force)


async def _job(sessionmaker: Any) -> Job:
    async with sessionmaker() as s:
        return (
            (await s.execute(select(Job).where(Job.kind.in_(KINDS)).order_by(Job.id.desc())))
            .scalars()
            .first()
        )


async def test_the_default_branch_is_downloaded_scanned_and_stored(
    settings, sessionmaker, standin: StandIn
) -> None:
    await _queue(sessionmaker)
    assert await worker.drain(settings, sessionmaker, kinds=KINDS) == 1
    assert (await _job(sessionmaker)).status == "done"
    async with sessionmaker() as s:
        scan = await architecture.get_scan(s, name=REPO)
        view = await architecture.graph(s, scan=scan)
    assert scan.source == "github" and scan.location == REPO
    assert scan.commit_sha == standin.head_sha
    assert {(e.source, e.target, e.type_checking, e.lazy) for e in view.edges} == fixture.EDGES
    # paths as the repository names them (GitHub's top directory is gone)
    assert {m.name: m.path for m in view.modules}["shop.api"] == "src/shop/api.py"
    # the token never went to the download host
    assert standin.codeload_auth == [None]
    assert standin.count("GET", f"/repos/{REPO}/tarball/{standin.head_sha}") == 1


async def test_an_unchanged_branch_is_not_downloaded_again(
    settings, sessionmaker, standin: StandIn
) -> None:
    await _queue(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    await _queue(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    assert len(standin.codeload_auth) == 1  # the second run stopped at the head commit
    # "Scan now" forces it; a new head is scanned anyway
    await _queue(sessionmaker, force=True)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    standin.head_sha = "f" * 40
    standin.tarball = fixture.tarball(
        {**fixture.FILES, "src/shop/plugins/extra.py": "x = 1\n"}, top="acme-app-fffffff"
    )
    await _queue(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    assert len(standin.codeload_auth) == 3
    async with sessionmaker() as s:
        scan = await architecture.get_scan(s, name=REPO)
        modules = (await s.scalars(select(ArchModule).where(ArchModule.scan_id == scan.id))).all()
        assert len((await s.scalars(select(ArchScan))).all()) == 1
    assert scan.commit_sha == "f" * 40 and scan.cycles == [fixture.CYCLES[0]]
    assert len(modules) == len(fixture.MODULES)


@ONLY_SQLITE
async def test_github_failures_are_retried_then_the_scan_lands(
    settings, sessionmaker, standin: StandIn
) -> None:
    standin.fail(502, {"message": "Server Error"}, remaining=1)
    await _queue(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    job = await _job(sessionmaker)
    assert job.status == "pending" and "GitHub 502" in (job.last_error or "")
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
        await s.execute(update(GithubSyncState).values(paused_until=None))
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    assert (await _job(sessionmaker)).status == "done"


@ONLY_SQLITE
async def test_a_rate_limit_pauses_the_scan_like_every_github_job(
    settings, sessionmaker, standin: StandIn
) -> None:
    standin.fail(403, {"message": "API rate limit exceeded"}, headers={"retry-after": "120"})
    await _queue(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    job = await _job(sessionmaker)
    assert job.status == "pending" and (job.run_after - utcnow()).total_seconds() > 100
    async with sessionmaker() as s:
        state = await s.get(GithubSyncState, REPO)
    assert state is not None and state.paused_until is not None


@ONLY_SQLITE
async def test_a_hostile_tarball_fails_the_job_and_keeps_the_old_scan(
    settings, sessionmaker, standin: StandIn, tmp_path: Path
) -> None:
    await _queue(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    standin.head_sha = "e" * 40
    standin.tarball = fixture.tarball({"../../evil.py": "x = 1\n"}, top="..")
    await _queue(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    job = await _job(sessionmaker)
    assert job.status == "failed" and "refused archive member" in (job.last_error or "")
    assert not (tmp_path / "evil.py").exists()
    async with sessionmaker() as s:
        scan = await architecture.get_scan(s, name=REPO)
    assert scan.commit_sha == "6dcb09b5b57875f334f61aebed695e2e4193db5e"


@ONLY_SQLITE
async def test_scan_now_on_the_page(settings, sessionmaker, as_role, standin: StandIn) -> None:
    owner = await as_role("owner")
    page = (await owner.get("/admin/architecture")).text
    assert "Scan now" in page and "acme/app" in page
    r = await post_form(owner, "/admin/architecture/scan", {}, form_page="/admin/architecture")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/architecture?name=acme%2Fapp&done=queued"
    again = await post_form(owner, "/admin/architecture/scan", {}, form_page="/admin/architecture")
    assert again.headers["location"].endswith("done=waiting")
    queued = (await owner.get("/admin/architecture")).text
    assert "A scan is queued." in queued
    await worker.drain(settings, sessionmaker, kinds=KINDS)
    done = (await owner.get("/admin/architecture?name=acme/app")).text
    assert 'data-api="/api/v1/architecture?name=acme/app"' in done
    assert standin.head_sha[:12] in done


async def test_the_daily_schedule(settings, sessionmaker) -> None:
    now = utcnow()
    await worker.schedule_periodic(settings, sessionmaker, now=now)
    await worker.schedule_periodic(settings, sessionmaker, now=now + timedelta(hours=1))
    async with sessionmaker() as s:
        keys = (await s.scalars(select(Job.unique_key).where(Job.kind.in_(KINDS)))).all()
    assert len(keys) in (1, 2)  # one per day (two if the hour crossed midnight UTC)
    assert all(k and k.startswith(f"periodic:{architecture.JOB_SCAN_GITHUB}:") for k in keys)
