"""The support brain in headless Chromium: answers appear while a bug title is typed
(debounced HTMX), a Russian FAQ search finds an English entry and the language switch
comes back to it; the gaps page. Screenshots in ``test-artifacts/support-brain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devops_center.users.models import User
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_support_hub import sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "support-brain"


async def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1280", DESKTOP), ("375", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_brain_in_a_browser(
    server: str, browser: Any, people: dict[str, User], faq: dict[str, set[int]]
) -> None:
    page = await browser.new_page(viewport=DESKTOP)
    await sign_in(page, server, people["employee"].email or "")

    await page.goto(f"{server}/support/bug")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/suggest" in r.url else None)
    await page.type("#title", "I forgot my password", delay=30)
    await page.wait_for_selector("#bug-suggestions .bug-suggestions", timeout=10_000)
    text = await page.inner_text("#bug-suggestions")
    assert "perhaps this is it" in text and "password" in text.lower()
    assert len(requests) <= 2  # debounced: not one request per key
    await shoot(page, "bug-form-suggestions")

    await page.goto(f"{server}/support/faq")
    await page.fill("input[name=q]", "как установить мобильное приложение")
    await page.wait_for_selector("text=How do I install the mobile app?", timeout=10_000)
    await page.wait_for_url("**/support/faq?q=*")
    await shoot(page, "faq-cross-language")
    await page.click("form[action='/language'] button[value=ru]")
    await page.wait_for_selector("text=Часто задаваемые вопросы")
    assert "q=" in page.url
    assert await page.input_value("input[name=q]") == "как установить мобильное приложение"

    owner = await browser.new_page(viewport=DESKTOP)
    await sign_in(owner, server, people["owner"].email or "")
    await owner.goto(f"{server}/admin/faq/gaps")
    await shoot(owner, "gaps")
    await owner.goto(f"{server}/admin/faq")
    assert "Search understands meaning" in await owner.inner_text("#brain-mode")
    await shoot(owner, "faq-admin-card")
