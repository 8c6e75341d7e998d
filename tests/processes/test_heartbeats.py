"""Process heartbeats: written while web, worker and bot run, gone after a clean stop, shown."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.cli.status_report import status_lines
from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.processes import service as processes
from devops_center.processes.models import ProcessHeartbeat
from tests.conftest import csrf_token


async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[ProcessHeartbeat]:
    async with sessionmaker() as s:
        return list((await s.execute(select(ProcessHeartbeat))).scalars())


async def test_beat_alive_and_forget(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    worker = processes.this_process("worker")
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        await processes.beat(s, who=worker, now=now - timedelta(seconds=10))
        await processes.beat(s, who=worker, now=now)  # the same row, refreshed
        old = processes.Identity("bot", "elsewhere", 7, "0.0.1", now - timedelta(days=3))
        await processes.beat(s, who=old, now=now - timedelta(days=2))
    async with sessionmaker() as s:
        (alive,) = await processes.alive(s, now=now)
        assert (alive.kind, alive.pid, alive.last_seen_at) == ("worker", worker.pid, now)
        assert processes.describe(alive, now=now + timedelta(seconds=3)).endswith("seen 3 s ago")
        assert await processes.alive(s, now=now + processes.ALIVE_WITHIN * 2) == []
        assert await processes.last_seen(s, kind="bot") == now - timedelta(days=2)
    async with sessionmaker() as s, s.begin():
        assert await processes.purge_stale(s, now=now) == 1  # the bot killed two days ago
        await processes.forget(s, who=worker)
    assert await _rows(sessionmaker) == []


async def test_heartbeat_task_beats_and_removes_its_row(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    beat = processes.Heartbeat.start(sessionmaker, "bot", every=0.05)
    try:
        for _ in range(100):
            rows = await _rows(sessionmaker)
            if rows:
                break
            await asyncio.sleep(0.02)
        first = rows[0].last_seen_at
        await asyncio.sleep(0.2)
        (row,) = await _rows(sessionmaker)
        assert row.kind == "bot" and row.last_seen_at > first  # it keeps beating
        async with sessionmaker() as s, s.begin():  # a restore empties the table…
            await processes.forget(s, who=beat.who)
        await asyncio.sleep(0.2)
        assert [r.kind for r in await _rows(sessionmaker)] == ["bot"]  # …the next beat is back
    finally:
        await beat.stop()
    assert await _rows(sessionmaker) == []


async def test_the_web_app_beats_while_served(app: Any, sessionmaker: Any) -> None:
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if await _rows(sessionmaker):
                break
            await asyncio.sleep(0.02)
        assert [r.kind for r in await _rows(sessionmaker)] == ["web"]
    assert await _rows(sessionmaker) == []


async def test_status_page_and_cli_list_running_processes(
    as_role: Any, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner = await as_role("owner")
    page = await owner.get("/admin/status")
    assert "No process has reported in the last 45 s." in page.text

    worker = processes.this_process("worker")
    async with sessionmaker() as s, s.begin():
        await processes.beat(s, who=worker)
        await processes.beat(s, who=processes.this_process("embedded"))
    page = await owner.get("/admin/status")
    assert 'data-process="worker"' in page.text and f"<td>{worker.pid}</td>" in page.text
    assert "all in one (dcc serve)" in page.text

    lines = await status_lines(settings)
    at = lines.index("processes seen in the last 45 s: 2")
    assert lines[at + 2].startswith(f"  worker pid {worker.pid} on {worker.host} (")

    token = await csrf_token(owner, "/admin/status")
    await owner.post("/language", data={"csrftoken": token, "language": "ru", "next": "/"})
    page = await owner.get("/admin/status")
    assert "Процессы" in page.text and "всё в одном (dcc serve)" in page.text


async def test_no_process_line(settings: Settings, tmp_path: Path, engine: Any) -> None:
    assert "processes seen in the last 45 s: none" in await status_lines(settings)
