"""The support hub as a Telegram Mini App in headless Chromium at 360 px, dark theme.

The page is opened the way Telegram opens it: /tg/app with the signed ``tgWebAppData``
and ``tgWebAppThemeParams`` in the address's fragment (no telegram-web-app.js, no
network). Screenshots go to ``test-artifacts/mini-app``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.support.models import BugLog, FaqEntry
from devops_center.users.models import User
from tests.conftest import make_settings
from tests.telegram_app.initdata import BOT_TOKEN, make_init_data

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "mini-app"
SMALL = {"width": 360, "height": 740}
# Telegram's dark theme (Android, "Night")
DARK = {
    "bg_color": "#212d3b",
    "text_color": "#ffffff",
    "hint_color": "#7d8b99",
    "link_color": "#5eabe1",
    "button_color": "#50a8eb",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#151e27",
    "header_bg_color": "#242d39",
    "accent_text_color": "#64b5ef",
    "section_bg_color": "#1d2733",
    "section_header_text_color": "#79c4fc",
    "subtitle_text_color": "#7b8790",
    "destructive_text_color": "#ee686f",
}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path, telegram_bot_token=BOT_TOKEN)


async def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def app_url(base: str, init_data: str) -> str:
    theme = json.dumps(DARK, separators=(",", ":"))
    return (
        f"{base}/tg/app#tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=7.10"
        f"&tgWebAppPlatform=android&tgWebAppThemeParams={quote(theme, safe='')}"
    )


async def no_overflow(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SMALL["width"], f"{page.url} is {width}px wide"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_mini_app_signs_in_and_shows_the_hub_in_telegrams_dark_theme(
    server: str,
    browser: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    async with sessionmaker() as s, s.begin():
        s.add(
            FaqEntry(
                category="Account",
                question="How do I reset my password?",
                answer="Ask an admin to reset it.",
                language="en",
            )
        )
    photo = tmp_path / "photo.png"
    Image.new("RGB", (120, 80), (40, 160, 90)).save(photo)
    init_data = make_init_data(
        user={"id": 4242, "first_name": "Dana", "last_name": "Night", "language_code": "en"}
    )
    context = await browser.new_context(viewport=SMALL, locale="en-US", device_scale_factor=2)
    # What a Telegram client gives the page: a proxy that receives the app's events.
    await context.add_init_script(
        "window.__tgEvents = [];"
        "window.TelegramWebviewProxy = {postEvent: function (t, d) {"
        " window.__tgEvents.push(t); }};"
    )
    page = await context.new_page()
    await page.goto(app_url(server, init_data))
    await page.wait_for_url(f"{server}/support")
    assert await page.locator("text=Hello, Dana Night!").count() == 1

    # Telegram's colours, dark
    root = await page.evaluate(
        "() => { const s = getComputedStyle(document.body); return {"
        " bg: s.backgroundColor, color: s.color,"
        " theme: document.documentElement.getAttribute('data-theme'),"
        " classes: document.documentElement.className }; }"
    )
    assert root["bg"] == "rgb(33, 45, 59)" and root["color"] == "rgb(255, 255, 255)"
    assert root["theme"] == "dark" and "tg-themed" in root["classes"]
    assert await page.locator("header.topbar").is_hidden()  # Telegram has its own chrome
    tabs = page.locator("nav.tg-tabs a")
    assert await tabs.all_inner_texts() == ["Hub", "Report", "FAQ", "My bugs"]
    await no_overflow(page)
    await shoot(page, "01-hub-dark-360")

    # the bug form with its photo picker
    await tabs.nth(1).click()
    await page.wait_for_url(f"{server}/support/bug")
    button_bg = await page.evaluate(
        "getComputedStyle(document.querySelector('form.bug-form button[type=submit]'))"
        ".backgroundColor"
    )
    assert button_bg == "rgb(80, 168, 235)"  # --tg-theme-button-color
    await page.fill("#title", "Shift list is empty")
    await page.fill("#what_doing", "Opening the shift list")
    await page.fill("#expected", "My shifts")
    await page.fill("#actual", "An empty page")
    await page.set_input_files("#screenshot", str(photo))
    await no_overflow(page)
    await shoot(page, "02-bug-form-dark-360")
    await page.click("form.bug-form button[type=submit]")
    await page.wait_for_selector("text=has been saved")
    await no_overflow(page)

    # FAQ search
    await page.locator("nav.tg-tabs a", has_text="FAQ").click()
    await page.fill("input[name=q]", "passw")
    await page.wait_for_selector("#faq-results >> text=1 answer found")
    await no_overflow(page)
    await shoot(page, "03-faq-search-dark-360")

    # my bugs
    await page.locator("nav.tg-tabs a", has_text="My bugs").click()
    await page.wait_for_selector("text=Shift list is empty")
    await no_overflow(page)
    await shoot(page, "04-my-bugs-dark-360")

    events = await page.evaluate("window.__tgEvents")
    assert "web_app_ready" in events and "web_app_expand" in events
    await context.close()

    async with sessionmaker() as s:
        user = (await s.execute(select(User).where(User.telegram_id == 4242))).scalar_one()
        bug = (await s.execute(select(BugLog))).scalar_one()
    assert user.role == "employee" and bug.user_id == user.id and bug.screenshot_key


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_russian_user_reads_every_tab_whole_at_360_px(server: str, browser: Any) -> None:
    context = await browser.new_context(viewport=SMALL, locale="ru-RU")
    page = await context.new_page()
    user = {"id": 4343, "first_name": "Ира", "language_code": "ru"}
    await page.goto(app_url(server, make_init_data(user=user)))
    await page.wait_for_url(f"{server}/support")
    for path in ("/support", "/support/faq"):  # the active tab is bold: wider
        await page.goto(server + path)
        tabs = page.locator("nav.tg-tabs a")
        assert await tabs.all_inner_texts() == [
            "Главная", "Сообщить", "Вопросы и ответы", "Мои ошибки"
        ]  # fmt: skip
        cut = await page.evaluate(
            "[...document.querySelectorAll('nav.tg-tabs a')]"
            ".filter(a => a.scrollWidth > a.clientWidth).map(a => a.textContent)"
        )
        assert cut == [], f"cut tab labels on {path}: {cut}"
        await no_overflow(page)
    await shoot(page, "06-tabs-ru-dark-360")
    await context.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_forged_init_data_shows_the_reason(server: str, browser: Any) -> None:
    context = await browser.new_context(viewport=SMALL, locale="en-US")
    page = await context.new_page()
    await page.goto(app_url(server, make_init_data(bot_token="1:someone-else")))
    await page.wait_for_selector("#tg-error:not([hidden])")
    assert "did not come from Telegram" in await page.inner_text("#tg-error")
    assert page.url.startswith(f"{server}/tg/app")
    await shoot(page, "05-refused-dark-360")
    # opened outside Telegram: no initData at all
    await page.goto(f"{server}/tg/app")
    await page.wait_for_selector("#tg-outside:not([hidden])")
    await context.close()
