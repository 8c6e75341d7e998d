"""DCC_CFR_MODE: the change failure rate counted from deployments (the default) or from
the incidents they caused (as DevLake does), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from devops_center.deployments.models import Deployment
from devops_center.dora import presenter
from devops_center.dora import service as dora
from devops_center.incidents.models import Incident
from devops_center.web.app import create_app
from tests.conftest import login, make_settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def dep(ago: timedelta, status: str = "success", service: str = "web") -> Deployment:
    started = NOW - ago
    return Deployment(
        commit_sha="a" * 40,
        started_at=started,
        completed_at=started + timedelta(minutes=5),
        duration_seconds=300,
        status=status,
        service=service,
        environment="production",
        kind="normal",
    )


def incident(opened: datetime, source: str = "check", **kw: Any) -> Incident:
    return Incident(
        title="down",
        source=source,
        source_ref=kw.pop("ref", "probe"),
        environment="production",
        opened_at=opened,
        resolved_at=opened + timedelta(minutes=30),
        **kw,
    )


async def seed(sessionmaker) -> dict[str, Deployment]:
    """The brief's sample (15 deployments, 3 failed → 20 %) with incidents: the three
    failures opened one each; a probe went down after the success of 9 days ago; the
    rolled-back one also had a bug reported; a check without a service blames nobody;
    an incident of 40 days ago belongs to the previous window."""
    rows = {f"d{i}": dep(timedelta(days=i * 2 + 1), "failed" if i in (2, 7) else "success")
            for i in range(14)}  # fmt: skip
    rows["rb"] = dep(timedelta(hours=5), "rolled_back")
    rows["old"] = dep(timedelta(days=40))
    rows["api"] = dep(timedelta(days=4), service="api")  # another service, same window
    async with sessionmaker() as s, s.begin():
        s.add_all(rows.values())
        await s.flush()
        for key in ("d2", "d7", "rb"):
            d = rows[key]
            s.add(incident(d.completed_at, "deployment", deployment_id=d.id, service="web"))
        s.add(incident(rows["d4"].completed_at + timedelta(hours=3), service="web"))
        s.add(incident(rows["rb"].completed_at + timedelta(minutes=20), "bug", service="web"))
        s.add(incident(NOW - timedelta(days=1), service=None))
        s.add(incident(rows["old"].completed_at + timedelta(hours=1), service="web"))
    return rows


async def report(sessionmaker, **kw: Any) -> dora.DoraReport:
    async with sessionmaker() as s:
        return await dora.dora_report(s, now=NOW, **kw)


async def test_deployments_mode_is_the_default_and_keeps_the_sample_exact(sessionmaker) -> None:
    await seed(sessionmaker)
    r = await report(sessionmaker, service="web")
    assert r.cfr_mode == "deployments"
    assert r.stats.total == 15
    assert r.change_failure_rate.value == 20.0
    assert r.deployment_frequency.value == 0.5


async def test_incidents_mode_counts_each_deployment_that_caused_one_once(sessionmaker) -> None:
    await seed(sessionmaker)
    r = await report(sessionmaker, service="web", cfr_mode="incidents")
    assert r.cfr_mode == "incidents"
    # d2, d7, rb (their own incidents; rb's bug does not count it twice) and d4 (the probe)
    assert r.change_failure_rate.value == 4 / 15 * 100
    assert r.change_failure_rate.extra["caused_incidents"] == 4
    assert r.change_failure_rate.previous == 100.0  # "old" caused the incident 40 days ago
    assert sum(1 for _w, v in r.change_failure_rate.series if v) == 4
    everything = await report(sessionmaker, cfr_mode="incidents")  # api caused nothing
    assert everything.stats.total == 16
    assert everything.change_failure_rate.value == 4 / 16 * 100


async def test_the_dashboard_and_the_api_say_how_it_is_counted(
    db_url, tmp_path, people, engine, sessionmaker
) -> None:
    await seed(sessionmaker)

    for mode, words in (
        ("deployments", "Failed and rolled-back deployments"),
        ("incidents", "caused an incident"),
    ):
        settings = make_settings(db_url, tmp_path, cfr_mode=mode)
        app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await login(c, people["owner"].email or "")).status_code == 303
            page = await c.get("/admin/devops")
            assert words in page.text and "How it is computed" in page.text
            body = (await c.get("/api/v1/metrics/dora")).json()
            assert body["cfr_mode"] == mode


def test_definitions_exist_in_both_languages() -> None:
    from devops_center.dora.rules import Metric

    cfr = Metric("change_failure_rate", 20.0, "percent")
    assert "DevLake" in presenter.definition(cfr, "en", cfr_mode="incidents")
    assert "DevLake" in presenter.definition(cfr, "ru", cfr_mode="incidents")
    assert "вызвавших" in presenter.definition(cfr, "ru", cfr_mode="incidents")
    assert "откаченных" in presenter.definition(cfr, "ru")
