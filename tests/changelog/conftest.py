"""Changelog tests: the GitHub and Telegram stand-ins side by side, settings pointing at
both, and a small repository tree scanned as the repository's architecture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devops_center.config import Settings
from tests.bot.standin import StandIn as TelegramStandIn
from tests.github.conftest import REPO, github_settings
from tests.github.standin import StandIn as GithubStandIn


@pytest.fixture
def standin() -> Iterator[GithubStandIn]:
    server = GithubStandIn(repo=REPO).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    server = TelegramStandIn()
    await server.start()
    yield server
    await server.stop()
    assert not [(c.method, c.result["description"]) for c in server.refused]


@pytest.fixture
def settings(
    db_url: str, tmp_path: Path, standin: GithubStandIn, telegram: TelegramStandIn
) -> Settings:
    return github_settings(
        db_url,
        tmp_path,
        standin,
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram.url,
        timezone="Europe/Moscow",
    )


def write_repo(root: Path) -> Path:
    """``src/app``: ``core`` is imported by everything, ``views`` by nothing."""
    pkg = root / "src" / "app"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core.py").write_text("".join(f"X{i} = {i}\n" for i in range(40)))
    (pkg / "models.py").write_text("from app import core\n\nY = core.X1\n")
    (pkg / "service.py").write_text("from app import core, models\n\nZ = models.Y\n")
    (pkg / "views.py").write_text("from app import service\n\nV = service.Z\n")
    (root / "docs").mkdir()
    (root / "docs" / "notes.md").write_text("# notes\n")
    return root
