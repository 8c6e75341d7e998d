"""GET /metrics: names, route templates, database figures, access, promtool, multi-process."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devops_center.db import utcnow
from devops_center.deployments.models import Deployment
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.status import service as status
from devops_center.status.probes import ProbeResult
from devops_center.support.models import BugLog
from devops_center.users.models import User
from tests.conftest import CI, make_settings

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


async def seed(sessionmaker: async_sessionmaker[AsyncSession], people: dict[str, User]) -> None:
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        bug = {"user_id": people["employee"].id, "what_doing": "a", "expected": "b", "actual": "c"}
        await s.execute(
            insert(BugLog),
            [
                {**bug, "title": "crash", "priority": "critical", "status": "open"},
                {**bug, "title": "typo", "priority": "low", "status": "closed"},
                {**bug, "title": "slow", "priority": "low", "status": "closed"},
            ],
        )
        dep = {"commit_sha": "a" * 40, "service": "web", "environment": "production"}
        # Through the ORM, so the DORA roll-ups /metrics reads are kept as on any write.
        s.add_all(
            Deployment(**dep, status=st, started_at=now - timedelta(days=d))
            for d, st in enumerate(["success", "success", "failed", "success", "rolled_back"])
        )
        await outbox.enqueue(s, messages.Purge())
        spec = status.CheckSpec("database", "database", True)
        await status.record_result(s, spec=spec, result=ProbeResult(True, 250.0, "SELECT 1"))


async def test_metrics_names_and_figures(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], people: Any
) -> None:
    await seed(sessionmaker, people)
    await client.get("/healthz")
    await client.get("/auth/link/not-a-real-token")
    await client.get("/no/such/page/no-such-slug")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert all(n.startswith("dcc_") for n in names), names

    # Requests by route template, never the raw path.
    assert (
        value(text, "dcc_http_requests_total", method="GET", route="/healthz", status="200") or 0
    ) >= 1
    routes = {dict(lb).get("route") for n, lb in samples(text) if n == "dcc_http_requests_total"}
    assert "/auth/link/{token}" in routes  # the template of a parametrised route
    # Raw paths never reach a label. (Not digits: a `_created` timestamp once held
    # "12345" and failed this line on CI at 23:53:54 UTC.)
    labels = {v for _n, lb in samples(text) for _k, v in lb}
    assert not {v for v in labels if "not-a-real-token" in v or "no-such-slug" in v}
    assert "not-a-real-token" not in text and "no-such-slug" not in text
    assert (
        value(text, "dcc_http_requests_total", method="GET", route="<unmatched>", status="404") or 0
    ) >= 1
    assert (
        value(text, "dcc_http_request_duration_seconds_count", method="GET", route="/healthz") or 0
    ) >= 1

    assert value(text, "dcc_bugs", status="open", priority="critical") == 1
    assert value(text, "dcc_bugs", status="closed", priority="low") == 2
    assert value(text, "dcc_bugs", status="resolved", priority="high") == 0
    assert value(text, "dcc_deployments", status="failed", window="30d") == 1
    assert value(text, "dcc_deployments", status="success", window="30d") == 3
    assert value(text, "dcc_dora_change_failure_ratio", window="30d") == pytest.approx(0.4)
    assert value(text, "dcc_dora_deployment_frequency_per_day", window="30d") == pytest.approx(
        5 / 30
    )
    assert value(text, "dcc_check_up", check="database", type="database") == 1
    assert value(text, "dcc_check_response_seconds", check="database") == 0.25
    assert value(text, "dcc_check_state", check="bot", state="not_configured") == 1
    assert value(text, "dcc_check_uptime_ratio", check="database", window="24h") == 1
    assert value(text, "dcc_jobs", status="pending") == 1
    assert value(text, "dcc_jobs", status="failed") == 0
    assert value(text, "dcc_database_up") == 1

    promtool = shutil.which("promtool")
    if promtool is None:
        if CI:
            pytest.fail("promtool is required under CI")
        pytest.skip("promtool not installed")
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


async def test_loopback_only_without_token(make_client: Any) -> None:
    remote = make_client("203.0.113.9")
    response = await remote.get("/metrics")
    assert response.status_code == 403
    assert "DCC_METRICS_TOKEN" in response.text
    assert (await make_client("::1").get("/metrics")).status_code == 200


async def test_bearer_token_required_when_set(
    db_url: str, tmp_path: Path, engine: AsyncEngine, sessionmaker: Any
) -> None:
    from devops_center.web.app import create_app

    settings = make_settings(db_url, tmp_path, metrics_token="s3cret-token")
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker)

    def client(ip: str, token: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(ip, 1234)),
            base_url="http://testserver",
            headers=headers,
        )

    async with client("127.0.0.1") as c:
        response = await c.get("/metrics")
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    async with client("203.0.113.9", "wrong") as c:
        assert (await c.get("/metrics")).status_code == 401
    async with client("203.0.113.9", "s3cret-token") as c:
        response = await c.get("/metrics")
        assert response.status_code == 200 and "dcc_check_state" in response.text


async def test_api_token_with_metrics_scope(make_client: Any, sessionmaker: Any) -> None:
    from devops_center.users import tokens as api_tokens

    async with sessionmaker() as s, s.begin():
        _t, good = await api_tokens.create_token(s, name="prometheus", scopes=["metrics:read"])
        _t, other = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    remote = make_client("203.0.113.9")
    ok = await remote.get("/metrics", headers={"authorization": f"Bearer {good}"})
    assert ok.status_code == 200 and "dcc_jobs" in ok.text
    wrong = await remote.get("/metrics", headers={"authorization": f"Bearer {other}"})
    assert wrong.status_code == 401


async def test_database_down_still_answers(tmp_path: Path) -> None:
    """A database outage is reported as dcc_database_up 0, not as a failed scrape."""
    import socket

    from devops_center.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing"
    settings = make_settings(dead, tmp_path)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await c.get("/healthz")
        response = await c.get("/metrics")
    assert response.status_code == 200
    assert value(response.text, "dcc_database_up") == 0
    assert value(
        response.text, "dcc_http_requests_total", method="GET", route="/healthz", status="200"
    )
    assert "dcc_bugs" not in response.text


async def test_status_json_api(
    make_client: Any, sessionmaker: async_sessionmaker[AsyncSession], people: Any
) -> None:
    from devops_center.users import tokens as api_tokens

    await seed(sessionmaker, people)
    async with sessionmaker() as s, s.begin():
        _t, token = await api_tokens.create_token(s, name="grafana", scopes=["metrics:read"])
    remote = make_client("203.0.113.9")
    assert (await remote.get("/api/v1/status")).status_code == 401
    response = await remote.get("/api/v1/status", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    checks = {c["name"]: c for c in body["checks"]}
    assert body["ok"] is True
    assert checks["database"]["state"] == "up" and checks["database"]["response_ms"] == 250.0
    assert checks["database"]["uptime_24h"] == 100.0
    assert checks["bot"]["state"] == "not_configured"
