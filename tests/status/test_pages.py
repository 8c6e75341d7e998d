"""/admin/status and the panel fragment /admin/devops loads: what an admin sees."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.status import service as status
from devops_center.status.probes import ProbeResult


async def _history(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    specs = {s.name: s for s in status.check_specs(settings)}
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        for minute in range(30, 0, -1):
            await status.record_result(
                s,
                spec=specs["database"],
                result=ProbeResult(True, 4.0 + minute % 3, "SELECT 1"),
                now=now - timedelta(minutes=minute),
            )
        web = status.CheckSpec("web", "web", True, retries=0)
        await status.record_result(
            s, spec=web, result=ProbeResult(False, 9.0, "HTTP 503"), now=now - timedelta(minutes=2)
        )


async def test_status_page_shows_checks_chart_and_incidents(
    as_role: Any, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _history(settings, sessionmaker)
    owner = await as_role("owner")
    response = await owner.get("/admin/status")
    assert response.status_code == 200
    html = response.text
    assert 'id="check-database"' in html and 'id="check-web"' in html
    assert 'data-state="up"' in html and 'data-state="down"' in html
    assert 'data-state="not_configured"' in html  # the bot, without a token
    assert "TELEGRAM_BOT_TOKEN is not set" in html
    assert "100.00 %" in html  # database uptime
    assert 'class="status-chart"' in html and "data-points='[[" in html
    assert "web is down" in html  # the open incident
    web_card = html.split('id="check-web"')[1].split('id="check-')[0]
    assert "HTTP 503" in web_card and "9 ms" not in web_card
    assert "/static/js/status.js" in html and "<script>" not in html

    week = await owner.get("/admin/status?range=7d")
    assert week.status_code == 200 and 'aria-current="page">7 days' in week.text
    assert (await owner.get("/admin/status?range=1y")).status_code == 422


async def test_panel_is_a_fragment_that_refreshes(
    as_role: Any, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _history(settings, sessionmaker)
    admin = await as_role("superadmin")
    response = await admin.get("/admin/status/panel", headers={"hx-request": "true"})
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html and "<body" not in html
    assert 'hx-get="/admin/status/panel"' in html and 'hx-trigger="every 30s"' in html
    assert '<tr data-check="database">' in html
    assert 'data-state="up"' in html and 'data-state="down"' in html
    # a down check shows why, not the time its failing answer took
    web_row = html.split('<tr data-check="web">')[1].split("</tr>")[0]
    assert "HTTP 503" in web_row and "9 ms" not in web_row


async def test_russian_panel(
    as_role: Any, people: Any, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _history(settings, sessionmaker)
    owner = await as_role("owner")
    response = await owner.get("/admin/status/panel", headers={"accept-language": "ru"})
    # The test users' profile language is English; switch it for this browser.
    if "Доступность за 24 ч" not in response.text:
        from tests.conftest import csrf_token

        token = await csrf_token(owner, "/admin/status")
        await owner.post("/language", data={"csrftoken": token, "language": "ru", "next": "/"})
        response = await owner.get("/admin/status/panel")
    assert "Доступность за 24 ч" in response.text
    assert "Работает" in response.text and "Не работает" in response.text
    # the test settings have no bot token: the reason is said in Russian too
    assert "TELEGRAM_BOT_TOKEN не задан: бот выключен" in response.text
    assert "the bot is off" not in (await owner.get("/admin/status")).text


async def test_only_admins(client: httpx.AsyncClient, as_role: Any) -> None:
    employee = await as_role("employee")
    assert (await employee.get("/admin/status")).status_code == 403
    assert (await employee.get("/admin/status/panel")).status_code == 403
    anon = await client.get("/admin/status/panel")
    assert anon.status_code == 303 and anon.headers["location"].startswith("/login")


async def test_maintenance_window_form(
    as_role: Any, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from tests.conftest import post_form

    owner = await as_role("owner")
    local = utcnow().astimezone(settings.tz).replace(tzinfo=None, second=0, microsecond=0)
    fmt = "%Y-%m-%dT%H:%M"
    bad = await post_form(
        owner,
        "/admin/status/maintenance",
        {"starts_at": local.strftime(fmt), "ends_at": (local - timedelta(hours=1)).strftime(fmt)},
        form_page="/admin/status",
    )
    assert bad.status_code == 422
    assert "The end must be after the start" in bad.text
    async with sessionmaker() as s:
        assert await status.stored_windows(s) == []

    ok = await post_form(
        owner,
        "/admin/status/maintenance",
        {
            "starts_at": (local - timedelta(minutes=5)).strftime(fmt),
            "ends_at": (local + timedelta(hours=1)).strftime(fmt),
            "checks": "database",
            "note": "disk upgrade",
        },
        form_page="/admin/status",
    )
    assert ok.status_code == 303
    async with sessionmaker() as s:
        (window,) = await status.stored_windows(s)
        views = {v.name: v for v in await status.current_states(s, settings)}
    assert window.checks == ("database",) and window.note == "disk upgrade"
    assert views["database"].state == "maintenance" and views["web"].state != "maintenance"
    page = (await owner.get("/admin/status")).text
    assert "disk upgrade" in page and f'data-window="{window.id}"' in page

    # The probe job reads the same windows.
    async with sessionmaker() as s:
        windows = await status.all_windows(s, settings)
        assert status.in_maintenance(settings, "database", windows=windows)

    gone = await post_form(
        owner, f"/admin/status/maintenance/{window.id}/delete", {}, form_page="/admin/status"
    )
    assert gone.status_code == 303
    async with sessionmaker() as s:
        assert await status.stored_windows(s) == []
    employee = await as_role("employee")
    denied = await post_form(
        employee,
        "/admin/status/maintenance",
        {"starts_at": local.strftime(fmt), "ends_at": (local + timedelta(hours=1)).strftime(fmt)},
        form_page="/support",
    )
    assert denied.status_code == 403


async def test_dashboard_follows_a_stopped_server(
    db_url: str,
    tmp_path: Any,
    engine: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    people: Any,
    target: Any,
) -> None:
    """Stop a checked server: down after the retries, one alert, an incident; start it:
    up again, the incident resolved, one more alert."""
    from sqlalchemy import select

    from devops_center.incidents.models import Incident
    from devops_center.outbox.models import Job
    from devops_center.web.app import create_app
    from tests.conftest import login, make_settings
    from tests.status.conftest import http_check
    from tests.status.test_state_machine import run_check

    settings = make_settings(db_url, tmp_path, checks=[http_check(target.url, retries=1)])
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as owner:
        assert (await login(owner, people["owner"].email)).status_code == 303

        async def panel_state() -> str:
            html = (await owner.get("/admin/status/panel")).text
            row = html.split('<tr data-check="api">', 1)[1].split("</tr>", 1)[0]
            return row.split('data-state="', 1)[1].split('"', 1)[0]

        assert await run_check(settings, sessionmaker) == "up"
        assert await panel_state() == "up"
        await target.stop()
        await run_check(settings, sessionmaker)
        assert await panel_state() == "pending"
        await run_check(settings, sessionmaker)
        assert await panel_state() == "down"
        page = (await owner.get("/admin/status")).text
        assert "api is down" in page
        await target.start()
        await run_check(settings, sessionmaker)
        assert await panel_state() == "up"
    async with sessionmaker() as s:
        events = [
            p["event"]
            for p in (
                await s.execute(select(Job.payload).where(Job.kind == "notify.admin"))
            ).scalars()
        ]
        incident = (await s.execute(select(Incident))).scalar_one()
    assert events == ["check_down", "check_up"]
    assert incident.resolved_at is not None
