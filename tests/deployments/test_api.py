"""POST /api/v1/deployments: upsert by external id, 422 with every field, nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.incidents.models import Incident
from devops_center.outbox.models import Job
from devops_center.users import tokens as api_tokens


@pytest.fixture
async def token(sessionmaker) -> str:
    async with sessionmaker() as s, s.begin():
        _row, plaintext = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    return plaintext


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def body(**overrides) -> dict:
    started = datetime.now(UTC) - timedelta(minutes=10)
    data = {
        "commit_sha": "3484A3FB816E0859FD6E1CEA078D76385FF50625",
        "commit_message": "fix: close shift on slow networks",
        "started_at": started.isoformat(),
        "completed_at": (started + timedelta(seconds=252)).isoformat(),
        "status": "success",
        "triggered_by": "github-actions",
        "tests_passed": 212,
        "tests_failed": 0,
        "service": "staffprobot-web",
        "external_id": "6512345678-1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def count(sessionmaker, model) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_retried_ci_step_does_not_double_count(client, token, sessionmaker) -> None:
    first = await client.post("/api/v1/deployments", json=body(), headers=auth(token))
    assert first.status_code == 201, first.text
    data = first.json()
    assert data["duration_seconds"] == 252
    assert data["commit_sha"] == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    assert data["environment"] == "production" and data["kind"] == "normal"
    again = await client.post(
        "/api/v1/deployments", json=body(tests_passed=213), headers=auth(token)
    )
    assert again.status_code == 200
    assert again.json()["id"] == data["id"] and again.json()["tests_passed"] == 213
    assert await count(sessionmaker, Deployment) == 1
    async with sessionmaker() as s:
        jobs = (await s.execute(select(Job.kind, Job.payload))).all()
    # No GitHub configured: no commit job; one notification for the one final status, and
    # the changelog learns once what this production deployment shipped.
    assert [k for k, _p in jobs] == ["notify.admin", "changelog.deployed"]
    assert jobs[0][1] == {"event": "deployment_finished", "deployment_id": data["id"]}
    assert jobs[1][1] == {"deployment_id": data["id"]}


async def test_in_progress_then_finished(client, token, sessionmaker) -> None:
    running = body(status="in_progress", completed_at=None)
    r = await client.post("/api/v1/deployments", json=running, headers=auth(token))
    assert r.status_code == 201 and r.json()["duration_seconds"] is None
    done = await client.post("/api/v1/deployments", json=body(status="failed"), headers=auth(token))
    assert done.status_code == 200 and done.json()["status"] == "failed"
    late = await client.post("/api/v1/deployments", json=running, headers=auth(token))
    assert late.json()["status"] == "failed"  # a late "running" never undoes the result
    async with sessionmaker() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
    assert incident.source == "deployment" and incident.deployment_id == done.json()["id"]
    assert incident.resolved_at is None


async def test_invalid_input_lists_every_field_and_stores_nothing(
    client, token, sessionmaker
) -> None:
    bad = body(
        commit_sha="xyz",
        status="exploded",
        tests_passed=-1,
        started_at="yesterday",
        kind="big",
        unknown_field=1,
    )
    r = await client.post("/api/v1/deployments", json=bad, headers=auth(token))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"commit_sha", "status", "tests_passed", "started_at", "kind", "unknown_field"} <= fields
    missing = await client.post(
        "/api/v1/deployments", json=body(completed_at=None), headers=auth(token)
    )
    assert missing.status_code == 422
    assert "completed_at" in missing.text
    backwards = body(completed_at="2001-01-01T00:00:00Z")
    r = await client.post("/api/v1/deployments", json=backwards, headers=auth(token))
    assert r.status_code == 422
    nul = await client.post(
        "/api/v1/deployments", json=body(commit_message="a\x00b"), headers=auth(token)
    )
    assert nul.status_code == 422
    assert await count(sessionmaker, Deployment) == 0
    assert await count(sessionmaker, Job) == 0


async def test_commits_from_the_request(client, token, sessionmaker) -> None:
    sent = body(
        commits=[
            {"sha": "a" * 40, "committed_at": "2026-11-27T10:00:00Z", "message": "one"},
            {"sha": "b" * 7, "committed_at": "2026-11-27T11:00:00+03:00", "author": "olga"},
        ]
    )
    r = await client.post("/api/v1/deployments", json=sent, headers=auth(token))
    assert r.status_code == 201 and r.json()["commits"] == 2
    async with sessionmaker() as s:
        rows = (await s.execute(select(DeploymentCommit).order_by(DeploymentCommit.sha))).scalars()
        rows = list(rows)
    assert rows[1].committed_at == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def test_scopes(client, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        _r, reader = await api_tokens.create_token(s, name="prom", scopes=["metrics:read"])
    r = await client.post("/api/v1/deployments", json=body(), headers=auth(reader))
    assert r.status_code == 403
    anon = await client.post("/api/v1/deployments", json=body())
    assert anon.status_code == 401
    dora = await client.get(
        "/api/v1/metrics/dora?days=30&service=&environment=", headers=auth(reader)
    )
    assert dora.status_code == 200


async def test_fifteen_deployments_three_failures_through_the_api(
    client: httpx.AsyncClient, token, sessionmaker, as_role
) -> None:
    now = datetime.now(UTC)
    for i in range(15):
        started = now - timedelta(days=i * 2 + 0.5)
        status = "failed" if i in (1, 5, 9) else "success"
        r = await client.post(
            "/api/v1/deployments",
            json=body(
                started_at=started.isoformat(),
                completed_at=(started + timedelta(minutes=5)).isoformat(),
                status=status,
                external_id=f"run-{i}-1",
            ),
            headers=auth(token),
        )
        assert r.status_code == 201
    owner = await as_role("owner")
    r = await owner.get("/api/v1/metrics/dora", params={"days": 30})
    assert r.status_code == 200
    data = r.json()
    assert data["metrics"]["deployment_frequency"]["value"] == 0.5
    assert data["metrics"]["change_failure_rate"]["value"] == 20.0
    assert data["stats"] == {
        "total": 15,
        "success": 12,
        "failed": 3,
        "rolled_back": 0,
        "in_progress": 0,
    }
    assert len(data["metrics"]["lead_time"]["series"]) == 31  # a point a day of 30 days
    assert data["series_bucket"] == "day"
    assert data["metrics"]["lead_time"]["label"] == "pipeline duration"
    listing = await owner.get("/api/v1/deployments", params={"status": "failed", "per_page": 2})
    assert listing.json()["total"] == 3 and len(listing.json()["items"]) == 2
    employee = await as_role("employee")
    assert (await employee.get("/api/v1/metrics/dora")).status_code == 403
    bad = await owner.get("/api/v1/metrics/dora", params={"days": 0})
    assert bad.status_code == 422


async def test_wrong_types_and_methods(client, token, sessionmaker) -> None:
    for bad in (
        body(tests_failed=False),
        body(tests_passed=1.5),
        body(started_at=1700000000),
        body(commits=[{"sha": "a" * 40, "committed_at": 5}]),
        body(started_at="0001-01-01T00:00:00+01:00"),
    ):
        r = await client.post("/api/v1/deployments", json=bad, headers=auth(token))
        assert r.status_code == 422, bad
    assert await count(sessionmaker, Deployment) == 0
    r = await client.request("DELETE", "/api/v1/deployments", headers=auth(token))
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
