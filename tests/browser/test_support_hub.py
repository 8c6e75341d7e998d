"""The Support Hub in headless Chromium: file a bug with a screenshot on a phone, find it in
My bugs, search the FAQ and vote, and an admin resolves the bug.

Every page is screenshotted at 1280 px and 375 px into ``test-artifacts/support-hub``.
Skipped when Playwright or Chromium is missing, except under ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.support.models import BugLog, FaqEntry
from devops_center.users.models import User
from tests.browser.conftest import DESKTOP, PHONE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "support-hub"


async def shoot(page: Any, name: str) -> None:
    """Screenshot the current page at 1280 px and 375 px (full page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    current = page.viewport_size
    for label, size in (("1280", DESKTOP), ("375", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(current)


async def sign_in(page: Any, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base}/support")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_support_hub_in_a_browser(
    server: str,
    browser: Any,
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    async with sessionmaker() as s, s.begin():
        s.add_all(
            [
                FaqEntry(
                    category="Account",
                    question="How do I reset my password?",
                    answer="Ask an admin to reset it.",
                    language="en",
                    order_index=1,
                ),
                FaqEntry(
                    category="Shifts",
                    question="How do I open a shift?",
                    answer="Press Start shift.",
                    language="en",
                    order_index=2,
                ),
                FaqEntry(
                    category="Смены",
                    question="Как открыть смену?",
                    answer="Нажмите «Начать смену».",
                    language="ru",
                    order_index=1,
                ),
            ]
        )
    shot = tmp_path / "screen.png"
    Image.new("RGB", (120, 80), (200, 40, 40)).save(shot)

    context = await browser.new_context(viewport=PHONE, locale="en-US")
    page = await context.new_page()
    await sign_in(page, server, people["employee"].email or "")
    await shoot(page, "01-hub-en")

    # File a bug with a screenshot on a 375-px phone.
    await page.goto(f"{server}/support/bug")
    await page.fill("#title", "Save button does nothing")
    await page.fill("#what_doing", "Editing my profile")
    await page.fill("#expected", "The profile is saved")
    await page.fill("#actual", "Nothing happens")
    await page.select_option("#priority", "high")
    await page.set_input_files("#screenshot", str(shot))
    await shoot(page, "02-bug-form-en")
    await page.click("form.bug-form button[type=submit]")
    await page.wait_for_selector("text=has been saved")
    assert await page.locator("img.screenshot").count() == 1
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shoot(page, "03-bug-filed-en")

    await page.goto(f"{server}/support/my-bugs")
    assert await page.locator("text=Save button does nothing").count() == 1
    await shoot(page, "04-my-bugs-en")

    # FAQ: search as you type (HTMX), open, vote.
    await page.goto(f"{server}/support/faq")
    await page.fill("input[name=q]", "passw")
    await page.wait_for_selector("#faq-results >> text=1 answer found")
    assert "q=passw" in page.url  # hx-push-url keeps the search in the address
    assert await page.locator("#faq-results >> text=How do I open a shift?").count() == 0
    await shoot(page, "05-faq-search-en")
    await page.click("#faq-results >> text=How do I reset my password?")
    await page.click("form.faq-vote button[value='1']")
    await page.wait_for_selector("text=Thank you for your vote")
    await shoot(page, "06-faq-entry-en")

    # Russian: the language switch, the hub and the FAQ.
    await page.goto(f"{server}/support")
    await page.click("button[name=language][value=ru]")
    await page.wait_for_selector("text=Популярные вопросы")
    await shoot(page, "07-hub-ru")
    await page.goto(f"{server}/support/faq")
    await page.wait_for_selector("text=Как открыть смену?")
    await shoot(page, "08-faq-ru")
    await page.goto(f"{server}/support/bug")
    await shoot(page, "09-bug-form-ru")
    await context.close()

    # An owner resolves the bug.
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
    admin = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = await admin.new_page()
    await sign_in(page, server, people["owner"].email or "")
    await page.goto(f"{server}/admin/bugs")
    await shoot(page, "10-admin-bugs-en")
    await page.click(f"a[href='/admin/bugs/{bug.id}'] >> nth=0")
    await page.select_option("select[name=status]", "resolved")
    await page.click("form.triage button[type=submit]")
    await page.wait_for_selector("text=Saved.")
    await shoot(page, "11-admin-bug-resolved-en")
    await page.goto(f"{server}/admin/faq")
    await shoot(page, "12-admin-faq-en")
    await admin.close()
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
    assert bug.status == "resolved" and bug.resolved_at is not None
    assert bug.screenshot_key
