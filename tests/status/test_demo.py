"""The status demo data: 30 days of history, a blip, one resolved outage."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.incidents.models import Incident
from devops_center.status import demo
from devops_center.status import service as status


async def test_demo_history(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        await demo.populate(s, now=now)
    async with sessionmaker() as s:
        views = {v.name: v for v in await status.current_states(s, settings, now=now)}
        incident = (await s.execute(select(Incident))).scalar_one()
    web = views["web"]
    assert web.state == "up" and views["database"].state == "up"
    assert web.uptime_24h == 100.0
    assert web.uptime_7d is not None and 99.5 < web.uptime_7d < 100.0  # the blip
    assert web.uptime_30d is not None and 99.0 < web.uptime_30d < web.uptime_7d  # the outage
    assert views["database"].uptime_30d == 100.0
    assert incident.source_ref == "web" and not incident.is_open
    assert (incident.resolved_at - incident.opened_at).total_seconds() == 25 * 60
