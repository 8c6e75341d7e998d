"""/admin/devops, /admin/deployments and /admin/incidents as an admin sees them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from devops_center.deployments import service as deployments
from devops_center.deployments.schemas import DeploymentIn
from devops_center.incidents.models import Incident
from tests.conftest import csrf_token, post_form


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
    assert len(chart["labels"]) == 31 and set(chart["metrics"]) >= {"lead_time", "rework_rate"}
    assert chart["bucket"] == "day" and chart["x_axis"] == "day"
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
    # the trend charts cover the 7 days of the figures, a point a day
    assert "One point a day over the last 7 days (8 points)" in r.text
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


async def test_deployment_tiles_add_up_and_say_so(as_role, sessionmaker, settings) -> None:
    await seed(sessionmaker, settings, n=6, failed=(2,))
    async with sessionmaker() as s, s.begin():
        await deployments.record(
            s,
            data=DeploymentIn(
                commit_sha="feedbee", started_at=datetime.now(UTC) - timedelta(minutes=3),
                status="in_progress", service="web", external_id="web-running",
            ),
            settings=settings,
        )  # fmt: skip
    html = (await (await as_role("owner")).get("/admin/devops")).text
    tiles = {
        key: int(value)
        for key, value in re.findall(
            r'<article id="stat-(\w+)"><span class="muted">[^<]*</span>'
            r'<p class="dora-value">(\d+)<',
            html,
        )
    }
    assert tiles["in_progress"] == 1
    finished = tiles["success"] + tiles["failed"] + tiles.get("rolled_back", 0)
    assert tiles["total"] == finished == 6
    assert "Total counts the finished deployments of the window" in html


async def test_deployments_date_range_sort_and_failure_reason(
    as_role, sessionmaker, settings
) -> None:
    await seed(sessionmaker, settings)  # every 2 days from 0.5 days ago; 1, 5, 9 failed
    owner = await as_role("owner")
    today = datetime.now(UTC).date()

    def shown(html: str) -> list[str]:
        return re.findall(r"<code>(\w{7})</code></a>", html)

    every = shown((await owner.get("/admin/deployments")).text)
    assert len(every) == 15 and every[0] == "0000000"  # newest first
    week_ago = (today - timedelta(days=7)).isoformat()
    r = await owner.get("/admin/deployments", params={"from": week_ago, "to": today.isoformat()})
    assert r.status_code == 200
    recent = shown(r.text)
    assert 3 <= len(recent) <= 5 and set(recent) <= set(every[:5])
    assert f'name="from" value="{week_ago}"' in r.text
    backwards = await owner.get("/admin/deployments", params={"from": today, "to": week_ago})
    assert shown(backwards.text) == recent
    oldest = shown((await owner.get("/admin/deployments", params={"sort": "oldest"})).text)
    assert oldest == list(reversed(every))
    page = (await owner.get("/admin/deployments", params={"sort": "nonsense"})).text
    assert shown(page) == every
    failed = (await owner.get("/admin/deployments", params={"status": "failed"})).text
    assert failed.count("2 tests failed") == 3
    ru = await as_role("owner")
    await ru.post(
        "/language",
        data={"csrftoken": await csrf_token(ru, "/admin/deployments"), "language": "ru"},
    )
    assert "2 теста не прошли" in (await ru.get("/admin/deployments")).text
    assert (await owner.get("/admin/deployments", params={"from": "2026-13-45"})).status_code == 422


async def test_charts_follow_the_window_with_caption_and_axes(
    as_role, sessionmaker, settings
) -> None:
    from tests.conftest import csrf_token

    await seed(sessionmaker, settings)
    owner = await as_role("owner")

    def chart(html: str) -> dict:
        found = re.search(
            r'<script type="application/json" id="dora-data">(.*?)</script>', html, re.S
        )
        assert found is not None
        return json.loads(found.group(1))

    week = (await owner.get("/admin/devops", params={"days": 7})).text
    data = chart(week)
    assert data["bucket"] == "day" and len(data["labels"]) == len(data["starts"]) == 8
    assert data["x_axis"] == "day"
    assert data["metrics"]["deployment_frequency"]["axis"] == "deployments per day"
    assert data["metrics"]["time_to_restore"]["axis"] == "hours"
    assert "One point a day over the last 7 days (8 points)" in week
    quarter = (await owner.get("/admin/devops", params={"days": 90})).text
    data = chart(quarter)
    assert data["bucket"] == "week" and data["x_axis"] == "week starting"
    assert 13 <= len(data["labels"]) <= 14
    assert "One point a week (from Monday) over the last 90 days" in quarter

    csrf = await csrf_token(owner, "/admin/devops")
    await owner.post("/language", data={"csrftoken": csrf, "language": "ru", "next": "/"})
    ru = (await owner.get("/admin/devops", params={"days": 7})).text
    data = chart(ru)
    assert data["x_axis"] == "день"
    assert data["metrics"]["deployment_frequency"]["axis"] == "деплоев в день"
    assert "Одна точка — день, за последние 7 дн. (8 точек)" in ru
    assert re.search(r"\d+ (янв|фев|мар|апр|мая|июн|июл|авг|сен|окт|ноя|дек)", data["labels"][0])
