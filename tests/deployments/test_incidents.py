"""Incidents service: one open per source, bug incidents, manual open/close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devops_center.errors import Invalid
from devops_center.incidents import service as incidents
from devops_center.support.models import BugLog

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


async def test_bug_incident_open_once_and_resolve(sessionmaker, people) -> None:
    async with sessionmaker() as s, s.begin():
        bug = BugLog(
            user_id=people["employee"].id,
            title="Payments fail",
            what_doing="pay",
            expected="ok",
            actual="500",
            priority="critical",
        )
        s.add(bug)
        await s.flush()
        first = await incidents.open_for_bug(s, bug_id=bug.id, title=bug.title, opened_at=T0)
        again = await incidents.open_for_bug(s, bug_id=bug.id, title=bug.title)
        assert again.id == first.id and first.severity == "critical"
        done = await incidents.resolve_for_bug(
            s, bug_id=bug.id, resolved_at=T0 + timedelta(hours=3)
        )
        assert done is not None and done.resolved_at == T0 + timedelta(hours=3)
        assert await incidents.resolve_for_bug(s, bug_id=bug.id) is None
        assert await incidents.count_open(s) == 0


async def test_manual_incident_validation(sessionmaker, people) -> None:
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Invalid) as err:
            await incidents.open_manual(
                s, title="", user_id=people["owner"].id, severity="apocalyptic"
            )
        assert set(err.value.fields) == {"title", "severity"}
        made = await incidents.open_manual(
            s, title="  DB slow ", user_id=people["owner"].id, service="web"
        )
        assert made.title == "DB slow" and made.source == "manual"
        closed = await incidents.close(s, incident_id=made.id, user_id=people["owner"].id)
        assert closed.resolved_by == people["owner"].id and closed.resolved_at is not None
        items, total = await incidents.recent(s, open_only=False, service="web")
        assert total == 1 and items[0].id == made.id
