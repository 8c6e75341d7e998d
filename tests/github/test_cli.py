"""``dcc github status | replay`` (in-process through Typer's runner)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from devops_center import worker
from devops_center.cli import app
from devops_center.config import get_settings
from devops_center.db import make_engine, make_sessionmaker
from devops_center.github import webhooks
from devops_center.migrations import runner
from devops_center.outbox.models import Job, WebhookDelivery


async def _store_unhandled(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as s, s.begin():
            await webhooks.record_delivery(
                s, delivery_id="d-1", event="star", payload={"action": "started"}
            )
        # The worker finds no handler for "star" and keeps the delivery as unhandled.
        settings = get_settings(database_url=url, config_file=None, checks=[])
        await worker.drain(settings, sessionmaker)
        async with sessionmaker() as s:
            assert (await s.scalar(select(WebhookDelivery.status))) == "unhandled"
            await s.execute(delete(Job))
            await s.commit()
    finally:
        await engine.dispose()


async def _jobs(url: str) -> list[Any]:
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as s:
            return [(j.kind, j.payload) for j in (await s.execute(select(Job))).scalars()]
    finally:
        await engine.dispose()


def test_status_and_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    runner.upgrade(url)
    for name in ("GITHUB_TOKEN", "GITHUB_REPO", "GITHUB_WEBHOOK_SECRET", "DCC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DCC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    asyncio.run(_store_unhandled(url))
    cli = CliRunner()

    status = cli.invoke(app, ["github", "status"])
    assert status.exit_code == 0, status.output
    assert "github:   off (GITHUB_TOKEN is not set: bugs are kept locally)" in status.output

    assert "0 delivery(ies)" in cli.invoke(app, ["github", "replay"]).output

    async def on_star(session: Any, event: webhooks.WebhookEvent) -> None:
        return None

    webhooks.register_event_handler("star", on_star)
    try:
        replay = cli.invoke(app, ["github", "replay", "--event", "star"])
    finally:
        webhooks.EVENT_HANDLERS.pop("star")
    assert replay.exit_code == 0 and "1 delivery(ies) queued again" in replay.output
    assert asyncio.run(_jobs(url)) == [("github.process_delivery", {"delivery": 1})]

    sync = cli.invoke(app, ["github", "sync"])
    assert sync.exit_code == 2 and "GitHub is off" in sync.output
