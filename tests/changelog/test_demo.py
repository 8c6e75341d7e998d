"""The demo's changelog: entries scored against the scan of this project, most of them
live, some with the owner's line on /support's "What's new"."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from devops_center.cli import demo_data
from devops_center.deployments.models import ChangelogEntry
from devops_center.support.models import BugLog
from devops_center.web.app import create_app
from tests.conftest import login


async def test_demo_changelog(settings, engine, sessionmaker) -> None:
    await demo_data.load(settings)
    async with sessionmaker() as s:
        entries = list((await s.execute(select(ChangelogEntry))).scalars())
        live_bugs = list(
            (await s.execute(select(BugLog).where(BugLog.fix_live_at.is_not(None)))).scalars()
        )
    async with sessionmaker() as s:
        scored = list(
            (await s.execute(select(BugLog).where(BugLog.impact_score.is_not(None)))).scalars()
        )
    assert len(scored) >= 3 and any(b.status == "open" for b in scored)  # open fixes on the way
    assert len(entries) == 7
    assert all(e.impact_score is not None for e in entries)
    assert any(e.impact_score and e.impact_score > 0.2 for e in entries)
    assert {e.component for e in entries} >= {"support", "deployments", "notify"}
    assert sum(e.status == "deployed" for e in entries) >= 5
    assert len(live_bugs) == 2
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await login(c, "admin@demo.local", "demo-admin")
        page = await c.get("/admin/changelog")
        assert page.status_code == 200 and "night shifts were missing" in page.text
        module = await c.get("/admin/architecture/module?scan=devops_center&name=devops_center.db")
        bugs = module.text.split('id="module-bugs"')[1].split("</section>")[0]
        assert "/admin/bugs/" in bugs  # an open bug whose fix touches db
        home = await c.get("/support")
        assert "A weekly digest in Telegram" in home.text
