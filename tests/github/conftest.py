"""GitHub tests: a stand-in GitHub server per test and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.support import service as support
from devops_center.support.models import BugLog
from tests.conftest import make_settings
from tests.github.standin import StandIn

REPO = "acme/app"
WEBHOOK_SECRET = "It's a Secret to Everybody"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn(repo=REPO).start()
    try:
        yield server
    finally:
        server.stop()


def github_settings(db_url: str, tmp_path: Path, standin: StandIn, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "github_token": "test-token",
        "github_repo": REPO,
        "github_api_url": standin.url,
        "github_webhook_secret": WEBHOOK_SECRET,
        "github_timeout": 0.5,
        "base_url": "https://dcc.example.org",
        "cookie_secure": False,
    }
    values.update(extra)
    return make_settings(db_url, tmp_path, **values)


@pytest.fixture
def settings(db_url: str, tmp_path: Path, standin: StandIn) -> Settings:
    return github_settings(db_url, tmp_path, standin)


# Settings for filing many bugs in a test (no rate limit; nothing else is read).
UNLIMITED = make_settings("sqlite+aiosqlite:///unused", Path("/tmp"), bug_rate_limit_per_hour=10**6)


async def file_bug(
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: int,
    *,
    title: str = "Shift list is empty",
    priority: str = "medium",
) -> BugLog:
    report = support.BugReport(
        title=title,
        what_doing="Opened the shift list",
        expected="My three shifts",
        actual="An empty page",
        priority=priority,
    )
    async with sessionmaker() as s, s.begin():
        filed = await support.file_bug(
            s, settings=UNLIMITED, reporter_id=user_id, report=report, source="web"
        )
        return filed.bug


# the real embedding model (tests/brain/conftest.py): likely duplicates on triage
from tests.brain.conftest import model  # noqa: E402, F401
