"""/admin/devops, /admin/deployments and /admin/incidents as an admin sees them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from devops_center.deployments import service as deployments
from devops_center.deployments.schemas import DeploymentIn
from devops_center.incidents.models import Incident
from tests.conftest import post_form


async def seed(sessionmaker, settings, n: int = 15, failed=(1, 5, 9), service="web") -> None:
    now = datetime.now(UTC)
    async with sessionmaker() as s, s.begin():
        for i in range(n):
            started = now - timedelta(days=i * 2 + 0.5)
            await deployments.record(
                s,
                data=DeploymentIn(
                    commit_sha=f"{i:07x}abc",
                    commit_message=f"change {i}",
                    started_at=started,
                    completed_at=started + timedelta(minutes=4),
                    status="failed" if i in failed else "success",
                    service=service,
                    external_id=f"{service}-{i}",
                    tests_passed=100,
                    tests_failed=2 if i in failed else 0,
                ),
                settings=settings,
            )


async def test_dashboard_shows_the_brief_sample(as_role, sessionmaker, settings) -> None:
    await seed(sessionmaker, settings)
    owner = await as_role("owner")
    r = await owner.get("/admin/devops")
    assert r.status_code == 200
    html = r.text
    assert "0.5/day" in html
    assert "20%" in html
    assert 'class="badge dora-level low"' in html  # 20 % failures: low
    # Deployment statistics and the latest 10
    assert html.count("<tr>") >= 11
    assert "change 0" in html
    # Charts: data in a JSON element, code in a static file, nothing inline
    data = re.search(r'<script type="application/json" id="dora-data">(.*?)</script>', html, re.S)
    assert data is not None
    chart = json.loads(data.group(1))
    assert len(chart["weeks"]) == 12 and set(chart["metrics"]) >= {"lead_time", "rework_rate"}
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attrs, _body in scripts:
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs
    assert 'style="' not in html
    assert 'hx-get="/admin/status/panel" hx-trigger="load"' in html
    assert 'hx-get="/admin/github/panel" hx-trigger="load"' in html
    assert "Loading…" in html
    assert (await owner.get("/static/js/dora.js")).status_code == 200
    # The failed deployments opened an incident that the next success closed.
    async with sessionmaker() as s:
        incidents = list((await s.execute(select(Incident))).scalars())
    assert incidents and all(i.resolved_at is not None for i in incidents)


async def test_dashboard_filters_and_russian(as_role, sessionmaker, settings) -> None:
    await seed(sessionmaker, settings, n=4, failed=(), service="bot")
    await seed(sessionmaker, settings, n=2, failed=(0,), service="web")
    owner = await as_role("superadmin")
    r = await owner.get("/admin/devops", params={"days": 7, "service": "bot"})
    assert r.status_code == 200
    assert '<option value="bot" selected>' in r.text
    assert '<option value="7" selected>' in r.text
    assert "change 0" in r.text and "web" in r.text
    ru = await owner.get(
        "/admin/devops", params={"service": "nope"}, headers={"accept-language": "ru"}
    )
    assert ru.status_code == 200
    bad = await owner.get("/admin/devops", params={"days": "x"})
    assert bad.status_code == 422


async def test_empty_dashboard_says_no_data(as_role) -> None:
    owner = await as_role("owner")
    r = await owner.get("/admin/devops")
    assert r.status_code == 200
    assert "no data" in r.text and "No deployments yet" in r.text


async def test_deployment_list_pages_and_detail(as_role, sessionmaker, settings) -> None:
    await seed(sessionmaker, settings, n=30, failed=(3,))
    owner = await as_role("owner")
    first = await owner.get("/admin/deployments")
    assert first.status_code == 200
    assert "30 deployments" in first.text and "Page 1 of 2" in first.text
    second = await owner.get("/admin/deployments", params={"page": 2})
    assert "change 29" in second.text and "change 0" not in second.text
    failed = await owner.get("/admin/deployments", params={"status": "failed"})
    assert "1 deployment" in failed.text and "change 3" in failed.text
    match = re.search(r'href="/admin/deployments/(\d+)"', failed.text)
    assert match
    detail = await owner.get(f"/admin/deployments/{match.group(1)}")
    assert detail.status_code == 200 and "web-3" in detail.text
    assert (await owner.get("/admin/deployments/999999")).status_code == 404
    employee = await as_role("employee")
    assert (await employee.get(f"/admin/deployments/{match.group(1)}")).status_code == 403


async def test_incidents_open_and_resolve_by_hand(as_role, sessionmaker) -> None:
    owner = await as_role("owner")
    bad = await post_form(owner, "/admin/incidents", {"title": " "}, form_page="/admin/incidents")
    assert bad.status_code == 422 and "Enter a title" in bad.text
    ok = await post_form(
        owner,
        "/admin/incidents",
        {"title": "Payments down", "service": "web", "severity": "critical"},
        form_page="/admin/incidents",
    )
    assert ok.status_code == 303
    async with sessionmaker() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
    assert incident.source == "manual" and incident.opened_by is not None
    page = await owner.get("/admin/incidents")
    assert "Payments down" in page.text
    r = await post_form(
        owner, f"/admin/incidents/{incident.id}/resolve", {}, form_page="/admin/incidents"
    )
    assert r.status_code == 303
    async with sessionmaker() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
    assert incident.resolved_at is not None
    manager = await as_role("manager")
    denied = await post_form(manager, "/admin/incidents", {"title": "x"}, form_page="/support")
    assert denied.status_code == 403
