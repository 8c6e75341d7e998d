"""Pending → down → up through the real job, against a local server the test controls.

Exactly one down and one up alert, an incident opened and resolved, reminders while
down, and maintenance windows that silence all of it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.incidents.models import Incident
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.status import service as status
from devops_center.status.models import CheckResult, CheckState
from devops_center.status.probes import ProbeResult
from devops_center.worker import drain
from tests.conftest import make_settings
from tests.status.conftest import Target, http_check


async def run_check(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], name: str = "api"
) -> str:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.RunCheck(name=name))
    assert await drain(settings, sessionmaker, kinds=["status.check"]) == 1
    async with sessionmaker() as s:
        state = await s.get(CheckState, name)
        assert state is not None
        return state.state


async def alerts(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessionmaker() as s:
        rows = await s.execute(
            select(Job.payload).where(Job.kind == "notify.admin").order_by(Job.id)
        )
        return [dict(p) for p in rows.scalars()]


async def test_pending_down_up_sends_one_alert_each(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession], target: Target
) -> None:
    settings = make_settings(db_url, tmp_path, checks=[http_check(target.url)])
    assert await run_check(settings, sessionmaker) == "up"

    target.mode = "error"
    assert await run_check(settings, sessionmaker) == "pending"
    assert await run_check(settings, sessionmaker) == "pending"
    assert await alerts(sessionmaker) == []
    assert await run_check(settings, sessionmaker) == "down"  # retries = 2, then down

    sent = await alerts(sessionmaker)
    assert [a["event"] for a in sent] == ["check_down"]
    async with sessionmaker() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
    assert incident.source == "check" and incident.source_ref == "api" and incident.is_open
    assert sent[0]["incident_id"] == incident.id and sent[0]["check_name"] == "api"

    # Still down (a stopped server now): no new alert before the reminder is due.
    await target.stop()
    assert await run_check(settings, sessionmaker) == "down"
    assert len(await alerts(sessionmaker)) == 1

    await target.start()
    target.mode = "ok"
    assert await run_check(settings, sessionmaker) == "up"
    sent = await alerts(sessionmaker)
    assert [a["event"] for a in sent] == ["check_down", "check_up"]
    assert sent[1]["incident_id"] == incident.id
    async with sessionmaker() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
        assert not incident.is_open
        results = (await s.execute(select(CheckResult.state).order_by(CheckResult.id))).scalars()
        assert list(results) == ["up", "pending", "pending", "down", "down", "up"]
        state = await s.get(CheckState, "api")
        assert state is not None and state.incident_id is None


async def test_hanging_server_goes_down_after_retries(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession], target: Target
) -> None:
    settings = make_settings(
        db_url, tmp_path, checks=[http_check(target.url, timeout=0.2, retries=0)]
    )
    target.mode = "hang"
    assert await run_check(settings, sessionmaker) == "down"  # retries = 0: down at once
    assert [a["event"] for a in await alerts(sessionmaker)] == ["check_down"]


SPEC = status.CheckSpec("svc", "http", False, retries=1, successes=2, reminder_minutes=30)
OK = ProbeResult(True, 12.0, "HTTP 200")
BAD = ProbeResult(False, 3.0, "HTTP 500")


async def _feed(
    sessionmaker: async_sessionmaker[AsyncSession],
    seq: list[tuple[ProbeResult, int, bool]],
    spec: status.CheckSpec = SPEC,
) -> list[status.Transition]:
    start = utcnow()
    out = []
    for result, minute, maintenance in seq:
        async with sessionmaker() as s, s.begin():
            out.append(
                await status.record_result(
                    s,
                    spec=spec,
                    result=result,
                    now=start + timedelta(minutes=minute),
                    maintenance=maintenance,
                )
            )
    return out


async def test_successes_before_up_and_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seq = [
        (BAD, 0, False),  # pending
        (BAD, 1, False),  # down + alert
        (BAD, 20, False),  # down, reminder not yet due
        (BAD, 31, False),  # reminder
        (BAD, 40, False),  # nothing
        (BAD, 62, False),  # reminder again
        (OK, 63, False),  # 1 of 2 successes: still down
        (OK, 64, False),  # up + alert
    ]
    got = await _feed(sessionmaker, seq)
    assert [t.new for t in got] == ["pending", "down", "down", "down", "down", "down", "down", "up"]
    assert [t.alert for t in got if t.alert] == [
        "check_down",
        "check_reminder",
        "check_reminder",
        "check_up",
    ]
    assert len({t.incident_id for t in got if t.alert}) == 1


async def test_reminders_off_with_zero(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    spec = status.CheckSpec("quiet", "http", False, retries=0, reminder_minutes=0)
    got = await _feed(sessionmaker, [(BAD, 0, False), (BAD, 45, False), (BAD, 90, False)], spec)
    assert [t.alert for t in got] == ["check_down", None, None]


async def test_maintenance_suppresses_alerts_and_uptime(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seq = [(OK, 0, False), *[(BAD, m, True) for m in range(1, 6)], (OK, 6, False)]
    got = await _feed(sessionmaker, seq)
    assert [t.new for t in got] == ["up", *["maintenance"] * 5, "up"]
    assert all(t.alert is None for t in got)
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Incident)) == 0
        up = (await status.uptimes(s, now=utcnow() + timedelta(minutes=7)))["svc"]
    # the two good results hold a minute each; the 5 minutes of maintenance count for neither
    assert up.seconds["24h"][0] == up.seconds["24h"][1]
    assert 110 <= up.seconds["24h"][1] <= 130 and up.percent("24h") == 100.0


async def test_maintenance_window_from_settings(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession], target: Target
) -> None:
    now = utcnow()
    settings = make_settings(
        db_url,
        tmp_path,
        checks=[http_check(target.url, retries=0)],
        maintenance=[
            {
                "checks": ["api"],
                "starts_at": (now - timedelta(minutes=5)).isoformat(),
                "ends_at": (now + timedelta(minutes=5)).isoformat(),
            }
        ],
    )
    target.mode = "error"
    assert await run_check(settings, sessionmaker) == "maintenance"
    assert await alerts(sessionmaker) == []
    async with sessionmaker() as s:
        views = {v.name: v for v in await status.current_states(s, settings)}
    assert views["api"].state == "maintenance"
    assert views["api"].uptime_24h is None  # nothing counted
