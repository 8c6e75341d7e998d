"""Error pages in headless Chromium: a Russian employee's 404 and 500 keep their
navigation and language, under the site's CSP (no violation logged).

Screenshots: ``test-artifacts/error-pages``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends

from devops_center.users.models import User
from devops_center.web.deps import prepare_page
from tests.browser.conftest import DESKTOP, PHONE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "error-pages"


async def _boom() -> None:
    raise RuntimeError("a bug in a route")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_error_pages_in_a_browser(
    app: Any, server: str, browser: Any, people: dict[str, User]
) -> None:
    app.add_api_route("/support/boom", _boom, dependencies=[Depends(prepare_page)])
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "404" not in m.text and "500" not in m.text
            else None
        ),
    )
    await page.goto(f"{server}/login")
    await page.fill("#email", people["employee"].email or "")
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{server}/support")
    await page.click("button[name=language][value=ru]")
    await page.wait_for_selector("text=Мои ошибки")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path, name, heading in (
        ("/no-such-page", "404-ru", "404 · Не найдено"),
        ("/support/boom", "500-ru", "500 · Что-то пошло не так"),
    ):
        response = await page.goto(f"{server}{path}")
        assert response is not None and response.status == int(name[:3])
        assert (await page.locator("h1").inner_text()) == heading
        assert await page.locator("nav a[href='/support/my-bugs']").count() == 1
        # The language switch on the error page works (a form with a CSRF token).
        for label, size in (("1280", DESKTOP), ("375", PHONE)):
            await page.set_viewport_size(size)
            await page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        await page.set_viewport_size(DESKTOP)
    await page.click("button[name=language][value=en]")
    await page.wait_for_selector("text=My bugs")
    await context.close()
    assert not problems, problems
