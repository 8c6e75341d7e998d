"""Deployments from GitHub: webhook payloads (real fixtures) and the compare job."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from devops_center import worker
from devops_center.deployments import service as deployments
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.deployments.schemas import DeploymentIn
from devops_center.incidents.models import Incident
from devops_center.outbox.models import Job
from tests.conftest import make_settings
from tests.deployments.standin import commit_object, github_standin

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dora"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


async def all_deployments(sessionmaker) -> list[Deployment]:
    async with sessionmaker() as s:
        return list((await s.execute(select(Deployment).order_by(Deployment.id))).scalars())


async def test_workflow_run_completed_success(settings, sessionmaker) -> None:
    payload = fixture("workflow_run.completed.json")  # workflow "test" on master
    async with sessionmaker() as s, s.begin():
        assert await deployments.record_from_workflow_run(s, payload, settings=settings) is None
    cfg = settings.model_copy(update={"deploy_workflow": "test"})
    async with sessionmaker() as s, s.begin():
        dep = await deployments.record_from_workflow_run(s, payload, settings=cfg)
    assert dep is not None
    (row,) = await all_deployments(sessionmaker)
    assert row.external_id == "289782451-1" and row.status == "success"
    assert row.commit_sha == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    assert row.service == "octo-repo" and row.source == "workflow_run"
    assert row.started_at == datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC)
    assert row.duration_seconds == 0 and row.triggered_by == "Codertocat"
    assert row.commit_message == "build(test): check workflow run event payload"
    async with sessionmaker() as s:
        commits = list((await s.execute(select(DeploymentCommit))).scalars())
    # GitHub is not configured: the head commit's own time is kept.
    assert [c.sha for c in commits] == [row.commit_sha]
    assert commits[0].committed_at == datetime(2020, 10, 5, 16, 32, 7, tzinfo=UTC)

    # The same run again (redelivery), and the CI step with the same id: still one row.
    async with sessionmaker() as s, s.begin():
        await deployments.record_from_workflow_run(s, payload, settings=cfg)
        api = DeploymentIn(
            commit_sha=row.commit_sha,
            started_at=row.started_at,
            completed_at=row.completed_at,
            status="success",
            tests_passed=40,
            external_id="289782451-1",
            service="octo-repo",
        )
        result = await deployments.record(s, data=api, settings=cfg)
    assert not result.created
    (row,) = await all_deployments(sessionmaker)
    assert row.tests_passed == 40
    async with sessionmaker() as s, s.begin():
        await deployments.record_from_workflow_run(s, payload, settings=cfg)
    (row,) = await all_deployments(sessionmaker)
    assert row.tests_passed == 40  # a webhook never erases what CI sent


async def test_workflow_run_failure_opens_incident_success_closes_it(
    settings, sessionmaker
) -> None:
    failed = fixture("workflow_run.completed_failure.json")  # "demo-web" on main
    cfg = settings.model_copy(update={"deploy_workflow": "demo-web"})
    async with sessionmaker() as s, s.begin():
        dep = await deployments.record_from_workflow_run(s, failed, settings=cfg)
    assert dep is not None and dep.status == "failed" and dep.service == "wtc"
    fixed = copy.deepcopy(failed)
    run = fixed["workflow_run"]
    run.update(id=run["id"] + 1, conclusion="success", updated_at="2026-07-16T23:10:00Z")
    run["run_started_at"] = "2026-07-16T23:05:00Z"
    async with sessionmaker() as s, s.begin():
        ok = await deployments.record_from_workflow_run(s, fixed, settings=cfg)
    assert ok is not None and ok.status == "success"
    async with sessionmaker() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
        kinds = sorted(k for (k,) in await s.execute(select(Job.kind)))
    assert incident.deployment_id == dep.id and incident.resolved_by_deployment_id == ok.id
    assert incident.resolved_at == datetime(2026, 7, 16, 23, 10, tzinfo=UTC)
    # two alerts; the successful production one also tells the changelog what went live
    assert kinds == ["changelog.deployed", "notify.admin", "notify.admin"]


async def test_workflow_run_ignored_cases(settings, sessionmaker) -> None:
    payload = fixture("workflow_run.completed_failure.json")
    cfg = settings.model_copy(update={"deploy_workflow": "demo-web"})
    variants = []
    for change in (
        {"conclusion": "cancelled"},
        {"conclusion": "skipped"},
        {"head_branch": "feature/x"},
        {"event": "pull_request"},
        {"head_sha": "not-a-sha"},
    ):
        p = copy.deepcopy(payload)
        p["workflow_run"].update(change)
        variants.append(p)
    variants.append({"action": "completed"})
    async with sessionmaker() as s, s.begin():
        for p in variants:
            assert await deployments.record_from_workflow_run(s, p, settings=cfg) is None
    assert await all_deployments(sessionmaker) == []


async def test_workflow_run_in_progress_then_completed(settings, sessionmaker) -> None:
    running = fixture("workflow_run.in_progress.json")
    name = running["workflow_run"]["name"] or running["workflow"]["name"]
    cfg = settings.model_copy(update={"deploy_workflow": name})
    async with sessionmaker() as s, s.begin():
        dep = await deployments.record_from_workflow_run(s, running, settings=cfg)
    assert dep is not None and dep.status == "in_progress" and dep.completed_at is None
    done = copy.deepcopy(running)
    done["action"] = "completed"
    done["workflow_run"].update(status="completed", conclusion="success")
    async with sessionmaker() as s, s.begin():
        await deployments.record_from_workflow_run(s, done, settings=cfg)
    (row,) = await all_deployments(sessionmaker)
    assert row.status == "success" and row.completed_at is not None


async def test_deployment_status(settings, sessionmaker) -> None:
    payload = fixture("deployment_status.success.json")
    async with sessionmaker() as s, s.begin():
        dep = await deployments.record_from_deployment_status(s, payload, settings=settings)
    assert dep is not None
    assert dep.external_id == "gh-deployment-145988746" and dep.status == "success"
    assert dep.environment == "production" and dep.service == "Hello-World"
    assert dep.triggered_by == "Codertocat" and dep.duration_seconds == 2
    failure = copy.deepcopy(payload)
    failure["deployment_status"]["state"] = "failure"
    async with sessionmaker() as s, s.begin():
        again = await deployments.record_from_deployment_status(s, failure, settings=settings)
    assert again is not None and again.id == dep.id and again.status == "failed"
    pages = fixture("deployment_status.gh_pages.json")  # names its workflow run
    async with sessionmaker() as s, s.begin():
        run_dep = await deployments.record_from_deployment_status(s, pages, settings=settings)
    assert run_dep is not None and run_dep.external_id == "289782451-1"
    assert run_dep.status == "in_progress" and run_dep.environment == "github-pages"
    inactive = copy.deepcopy(payload)
    inactive["deployment_status"]["state"] = "inactive"
    async with sessionmaker() as s, s.begin():
        assert (
            await deployments.record_from_deployment_status(s, inactive, settings=settings) is None
        )


def _dep(sha: str, started: str, status: str = "success", **kw: Any) -> DeploymentIn:
    return DeploymentIn(
        commit_sha=sha,
        started_at=started,
        completed_at=started,
        status=status,
        service="web",
        external_id=kw.pop("external_id", f"x-{sha[:6]}-{started}"),
        **kw,
    )


async def test_fetch_commits_job_against_github_standin(db_url, tmp_path, sessionmaker) -> None:
    base, head, first = "1" * 40, "2" * 40, "9" * 40
    with github_standin() as gh:
        settings = make_settings(
            db_url,
            tmp_path,
            github_api_url=gh.url,
            github_token="ghp_test",
            github_repo="octo/web",
        )
        gh.on(
            f"/repos/octo/web/commits/{base}",
            commit_object(base, "2026-11-01T09:00:00Z", "feat: first"),
        )
        gh.on(
            f"/repos/octo/web/compare/{base}...{head}",
            {
                "status": "ahead",
                "ahead_by": 2,
                "behind_by": 0,
                "total_commits": 2,
                "commits": [
                    commit_object("3" * 40, "2026-11-02T08:00:00Z", "fix: a"),
                    commit_object(head, "2026-11-02T09:00:00Z", "fix: b", login="sam"),
                ],
                "files": [],
            },
        )
        async with sessionmaker() as s, s.begin():
            await deployments.record(s, data=_dep(base, "2026-11-01T10:00:00Z"), settings=settings)
            await deployments.record(
                s, data=_dep(first, "2026-11-01T12:00:00Z", "failed"), settings=settings
            )
            await deployments.record(s, data=_dep(head, "2026-11-02T10:00:00Z"), settings=settings)
        gh.on(
            f"/repos/octo/web/compare/{base}...{first}",
            {"message": "Not Found"},
            status=404,
        )
        await worker.drain(settings, sessionmaker, kinds=["deployments.fetch_commits"])
        async with sessionmaker() as s:
            rows = (
                await s.execute(
                    select(Deployment.commit_sha, DeploymentCommit.sha, DeploymentCommit.author)
                    .join(DeploymentCommit, DeploymentCommit.deployment_id == Deployment.id)
                    .order_by(Deployment.started_at, DeploymentCommit.sha)
                )
            ).all()
            failed_job = (await s.execute(select(Job).where(Job.status == "failed"))).scalar_one()
        assert rows == [
            (base, base, "olga"),  # first deployment: its head commit only
            (head, head, "sam"),
            (head, "3" * 40, "olga"),
        ]
        assert "404" in (failed_job.last_error or "")
        assert all(h.get("authorization") == "Bearer ghp_test" for _p, h in gh.requests)

        # Running it twice changes nothing.
        async with sessionmaker() as s, s.begin():
            from devops_center.outbox import service as outbox

            await outbox.retry_job(s, job_id=failed_job.id)
        async with sessionmaker() as s:
            count = await s.scalar(select(func.count()).select_from(DeploymentCommit))
        assert count == 3


async def test_rate_limited_compare_is_retried_later(db_url, tmp_path, sessionmaker) -> None:
    with github_standin() as gh:
        settings = make_settings(
            db_url, tmp_path, github_api_url=gh.url, github_token="t", github_repo="octo/web"
        )
        gh.on(
            "/repos/octo/web/commits/" + "4" * 40,
            {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
            status=403,
            headers={"retry-after": "120"},
        )
        async with sessionmaker() as s, s.begin():
            await deployments.record(
                s, data=_dep("4" * 40, "2026-11-01T10:00:00Z"), settings=settings
            )
        await worker.drain(settings, sessionmaker, kinds=["deployments.fetch_commits"])
        async with sessionmaker() as s:
            job = (
                await s.execute(select(Job).where(Job.kind == "deployments.fetch_commits"))
            ).scalar_one()
        assert job.status == "pending" and "rate limit" in (job.last_error or "")
        wait = (job.run_after - datetime.now(UTC)).total_seconds()
        assert 100 < wait <= 120
