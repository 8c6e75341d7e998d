"""A `dcc web` worker warms up before it listens: its templates compiled, its routes
built, the dashboard's roll-up days parsed — and a database it cannot read yet (not
migrated) only shortens the warm-up."""

from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devops_center.config import Settings
from devops_center.deployments import service as deployments
from devops_center.deployments.schemas import DeploymentIn
from devops_center.dora import day_cache
from devops_center.web.app import create_app
from devops_center.web.warmup import warm_up


async def test_a_worker_is_warm_before_its_first_request(app: Any, sessionmaker, settings) -> None:
    now = datetime.now(UTC)
    async with sessionmaker() as s, s.begin():
        for days_ago in (3, 4):
            started = now - timedelta(days=days_ago)
            await deployments.record(
                s,
                data=DeploymentIn(
                    commit_sha="a" * 40,
                    started_at=started,
                    completed_at=started + timedelta(minutes=3),
                    status="success",
                    service="web",
                ),
                settings=settings,
            )
    day_cache.DAYS.clear()
    env = app.state.templates.env
    assert "admin/devops.html" not in {t.name for t in env.cache.values()}

    gc.unfreeze()
    try:
        await warm_up(app)
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen > 10_000  # the app's objects, out of the full collections

    compiled = {t.name for t in env.cache.values()}
    assert {"base.html", "admin/devops.html", "account/sessions.html"} <= compiled
    url = settings.database_url.split("///")[-1].rsplit("/", 1)[-1]
    scopes = [key for key in day_cache.DAYS._scopes if url in key[0]]
    assert scopes, "the dashboard's roll-up days were not read"
    assert any(len(day_cache.DAYS._scopes[key]) == 2 for key in scopes)


async def test_an_unreadable_database_only_shortens_the_warm_up(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}",
        var_dir=tmp_path,
        secret_key="w" * 40,
        checks=[],
        config_file=None,
    )
    app = create_app(settings)
    with caplog.at_level(logging.INFO, logger="devops_center.web"):
        try:
            await warm_up(app)
        finally:
            gc.unfreeze()
    assert "warm-up stopped early" in caplog.text
    assert "warmed up in" in caplog.text
    assert "base.html" in {t.name for t in app.state.templates.env.cache.values()}
    await app.state.engine.dispose()
