"""Demo data: what the issue promises, and loading it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from devops_center.cli import demo_data
from devops_center.deployments.models import Deployment
from devops_center.incidents.models import Incident
from devops_center.support.models import BugLog, FaqEntry
from devops_center.users.models import User


async def test_demo_data_once(settings, sessionmaker) -> None:
    logins, created = await demo_data.load(settings)
    assert created
    assert {role for role, _e, _p in logins} == {"employee", "manager", "owner", "superadmin"}
    _logins, again = await demo_data.load(settings)
    assert not again
    async with sessionmaker() as s:
        users = await s.scalar(select(func.count()).select_from(User))
        deployments = await s.scalar(select(func.count()).select_from(Deployment))
        failed = await s.scalar(
            select(func.count()).where(Deployment.status.in_(["failed", "rolled_back"]))
        )
        rollbacks = await s.scalar(select(func.count()).where(Deployment.status == "rolled_back"))
        days = await s.scalar(select(func.min(Deployment.started_at)))
        incidents = await s.scalar(select(func.count()).select_from(Incident))
        bugs = await s.scalar(select(func.count()).select_from(BugLog))
        priorities = set((await s.execute(select(BugLog.priority).distinct())).scalars())
        statuses = set((await s.execute(select(BugLog.status).distinct())).scalars())
        faq = (await s.execute(select(FaqEntry.language, FaqEntry.category))).all()
    assert users == 10
    assert 90 <= deployments <= 4 * 91
    assert 0.08 < failed / deployments < 0.25 and rollbacks >= 2
    assert days is not None
    assert incidents >= 5
    assert bugs == 60
    assert priorities == {"critical", "high", "medium", "low"}
    assert statuses == {"open", "in_progress", "resolved", "closed"}
    for lang in ("ru", "en"):
        entries = [c for lng, c in faq if lng == lang]
        assert len(entries) >= 24 and len(set(entries)) >= 4


async def test_demo_has_brain_gaps_and_a_deflection_rate(settings, engine, sessionmaker) -> None:
    """The demo shows the support brain's pages with something on them."""
    import httpx

    from devops_center.cli import demo_data
    from devops_center.web.app import create_app
    from tests.conftest import login

    await demo_data.load(settings)
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await login(c, "admin@demo.local", "demo-admin")
        gaps = await c.get("/admin/faq/gaps")
        assert "Can I bring my dog to work?" in gaps.text and "3 times" in gaps.text
        card = await c.get("/admin/faq")
        assert "Deflection: 62% of 8 bug reports" in card.text
