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


async def test_recent_pages_and_counts_in_one_read(sessionmaker) -> None:
    """A page of incidents carries the count of them all, also on an empty page past
    the end (the count is then read on its own)."""
    async with sessionmaker() as s, s.begin():
        for n in range(5):
            await incidents.open_incident(
                s,
                title=f"outage {n}",
                source="manual",
                source_ref=f"r{n}",
                service="api" if n < 3 else "web",
                opened_at=T0 + timedelta(minutes=n),
            )
    async with sessionmaker() as s:
        items, total = await incidents.recent(s, limit=2)
        assert [i.title for i in items] == ["outage 4", "outage 3"] and total == 5
        items, total = await incidents.recent(s, limit=2, offset=4)
        assert [i.title for i in items] == ["outage 0"] and total == 5
        assert await incidents.recent(s, limit=2, offset=10) == ([], 5)
        items, total = await incidents.recent(s, limit=2, service="api", offset=2)
        assert [i.title for i in items] == ["outage 0"] and total == 3
        assert await incidents.recent(s, service="nothing") == ([], 0)


async def test_critical_open_bugs_and_their_count(sessionmaker, people) -> None:
    from devops_center.support import service as support

    async with sessionmaker() as s:
        assert await support.critical_open_bugs(s, limit=2) == ([], 0)
    async with sessionmaker() as s, s.begin():
        for n, (priority, status) in enumerate(
            [("critical", "open"), ("critical", "in_progress"), ("critical", "resolved"),
             ("high", "open"), ("critical", "open")]
        ):  # fmt: skip
            s.add(
                BugLog(
                    user_id=people["employee"].id,
                    title=f"bug {n}",
                    what_doing="w",
                    expected="e",
                    actual="a",
                    priority=priority,
                    status=status,
                    created_at=T0 + timedelta(minutes=n),
                )
            )
    async with sessionmaker() as s:
        bugs, total = await support.critical_open_bugs(s, limit=2)
        assert [b.title for b in bugs] == ["bug 4", "bug 1"] and total == 3
