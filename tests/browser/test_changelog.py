"""The changelog in headless Chromium: the architecture graph coloured by recent change
(colours change, the layout stays), /admin/changelog and "What's new" at 1280 and 375 px
without horizontal scrolling or script errors.

Screenshots go to ``test-artifacts/changelog``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.architecture import service as architecture
from devops_center.changelog import service as changelog
from devops_center.db import utcnow
from devops_center.github.models import PullRequest, PullRequestFile
from devops_center.users.models import User
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_architecture import _until
from tests.browser.test_support_hub import ARTIFACTS, sign_in
from tests.changelog.conftest import write_repo
from tests.changelog.test_pages_and_api import PULLS
from tests.github.conftest import REPO

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS.parent / "changelog"
COLOUR = "(name) => window.dccArchitecture.cy.getElementById('m:' + name).data('colour')"
POSITION = "(name) => window.dccArchitecture.cy.getElementById('m:' + name).position()"


async def _journal(sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    result = architecture.scan_directory(write_repo(tmp_path / "repo"))
    async with sessionmaker() as s, s.begin():
        await architecture.store_scan(s, name=REPO, result=result, source="github", location=REPO)
        for number, title, merged, files, closes in PULLS:
            pull = PullRequest(
                repo=REPO,
                number=number,
                title=title,
                state="merged",
                merge_commit_sha=f"{number:040x}",
                merged_at=merged,
                closes=closes,
                labels=[],
                url=f"https://github.com/{REPO}/pull/{number}",
            )
            s.add(pull)
            await s.flush()
            s.add_all(
                PullRequestFile(pull_request_id=pull.id, path=p, additions=a, deletions=d)
                for p, a, d in files
            )
            await s.flush()
            entry = await changelog.from_pull(s, repo=REPO, number=number)
            assert entry is not None
            entry.date = utcnow()  # recent: it colours the graph


async def _fits(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1280", DESKTOP), ("375", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(300)
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} scrolls sideways at {label} px"
        await page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_recent_change_colours_and_the_pages_fit(
    server: str,
    browser: Any,
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    await _journal(sessionmaker, tmp_path)
    page = await browser.new_page(viewport=DESKTOP)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, server, "owner@test.local")
    await page.goto(f"{server}/admin/architecture?name={REPO}")
    await _until(
        page,
        "() => window.dccArchitecture && window.dccArchitecture.cy.nodes().length > 0"
        " && !document.getElementById('arch-status').textContent",
    )
    await page.wait_for_timeout(1500)  # the layout settles
    before = {n: await page.evaluate(COLOUR, n) for n in ("app.core", "app.views")}
    where = await page.evaluate(POSITION, "app.core")
    await page.select_option("#arch-colour", "recent_change")
    await page.wait_for_timeout(300)
    after = {n: await page.evaluate(COLOUR, n) for n in ("app.core", "app.views")}
    # core: the most central and the most changed lately; views: a leaf changed a little
    assert after["app.core"] == before["app.core"]
    assert after["app.views"] != before["app.views"]
    assert await page.evaluate(POSITION, "app.core") == where  # colours only, no re-layout
    await _fits(page, "architecture-recent-change")

    await page.goto(f"{server}/admin/changelog")
    assert "fix: night shifts" in await page.inner_text("table")
    await _fits(page, "admin-changelog")
    await page.goto(f"{server}/support")
    news = await page.inner_text("#whats-new")
    assert "Dark mode" in news and "Night shifts" in news and "guide" not in news
    await _fits(page, "whats-new")
    assert not problems, problems
