"""The pages on a phone and with a keyboard, in headless Chromium, in Russian and English.

At 375 px the navigation folds behind one Menu button, no page scrolls sideways, a
table is drawn as cards whose every cell is shown with its column's heading, and the
incidents' Resolve button is not cut. At 1280 px the navigation is one line. Every
control shows a focus ring when reached with Tab, the RU/EN and Sign out buttons too.

Screenshots: ``test-artifacts/layout``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devops_center.cli import demo_data
from devops_center.db import utcnow
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "layout"
PAGES = (
    "/admin/devops",
    "/admin/bugs",
    "/admin/incidents",
    "/admin/deployments",
    "/admin/status",
    "/support/my-bugs",
)
ACCOUNTS = {r: (e, p, lang) for r, e, p, _n, lang in demo_data.DEMO_USERS}


async def _sign_in(browser: Any, server: str, role: str, viewport: dict[str, int]) -> Any:
    email, password, _lang = ACCOUNTS[role]
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await page.goto(f"{server}/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{server}/support")
    return page


@pytest.fixture
async def demo(sessionmaker: Any) -> None:
    async with sessionmaker() as s, s.begin():
        await demo_data.populate(s, now=utcnow())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", ["owner", "superadmin"])  # Russian, English
async def test_a_phone_sees_every_column_and_a_folded_menu(
    server: str, browser: Any, demo: None, role: str
) -> None:
    lang = ACCOUNTS[role][2]
    page = await _sign_in(browser, server, role, PHONE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.goto(f"{server}/admin/bugs")
    assert await page.get_attribute("html", "lang") == lang
    menu = page.locator(".menu-toggle")
    assert await menu.is_visible()
    assert not await page.locator("#site-menu a[href='/admin/devops']").is_visible()
    header = await page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] < 100  # was six lines of links
    await menu.click()
    assert await menu.get_attribute("aria-expanded") == "true"
    assert await page.locator("#site-menu a[href='/admin/devops']").is_visible()
    await page.screenshot(path=str(ARTIFACTS / f"menu-{lang}-375.png"))
    await page.keyboard.press("Escape")
    assert not await page.locator("#site-menu a[href='/admin/devops']").is_visible()

    for path in PAGES:
        await page.goto(f"{server}{path}")
        name = path.strip("/").replace("/", "-")
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}-375.png"), full_page=True)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways: {width} px"
        # every cell of every table is shown, labelled with its column's heading
        hidden = await page.evaluate(
            """() => [...document.querySelectorAll('main table.cards tbody td')]
                 .filter(td => {
                   const heads = td.closest('table').querySelectorAll('thead th');
                   const head = heads[td.cellIndex] ? heads[td.cellIndex].textContent.trim() : '';
                   return td.getBoundingClientRect().width === 0
                          || (head && td.colSpan === 1 && td.dataset.label !== head);
                 })
                 .map(td => td.closest('table').className + ': ' + td.textContent.trim())"""
        )
        assert not hidden, f"{path}: {hidden[:5]}"
        if path != "/support/my-bugs":  # the demo owner reported nothing
            assert await page.locator("main table.cards td[data-label]").count() >= 3, path

    await page.goto(f"{server}/admin/incidents")
    resolve = page.locator("form[action$='/resolve'] button").first
    box = await resolve.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    label = await page.locator("main table.cards td[data-label]").first.get_attribute("data-label")
    assert label == ("Инцидент" if lang == "ru" else "Incident")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", ["owner", "superadmin"])
async def test_a_keyboard_sees_where_it_is_and_a_desktop_one_menu_line(
    server: str, browser: Any, demo: None, role: str
) -> None:
    lang = ACCOUNTS[role][2]
    page = await _sign_in(browser, server, role, DESKTOP)
    await page.goto(f"{server}/admin/devops")
    assert not await page.locator(".menu-toggle").is_visible()
    links = page.locator("#site-menu > li")
    tops = {round((await links.nth(i).bounding_box() or {"y": -1})["y"]) for i in range(3)}
    assert len(tops) == 1
    last = await links.last.bounding_box()
    first = await links.first.bounding_box()
    assert last is not None and first is not None and abs(last["y"] - first["y"]) < 10
    other = "en" if lang == "ru" else "ru"
    for selector in (f"button[name=language][value={other}]", "form[action='/logout'] button"):
        await page.locator(selector).focus()  # as Tab does: focus-visible for a button
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Tab")
        outline = await page.eval_on_selector(
            selector,
            "el => [document.activeElement === el, getComputedStyle(el).outlineStyle,"
            " parseFloat(getComputedStyle(el).outlineWidth)]",
        )
        assert outline[0] and outline[1] != "none" and outline[2] >= 2, (selector, outline)
    await page.screenshot(
        path=str(ARTIFACTS / f"focus-{lang}-1280.png"),
        clip={"x": 0, "y": 0, "width": 1280, "height": 160},
    )
    await page.screenshot(path=str(ARTIFACTS / f"devops-{lang}-1280.png"), full_page=True)
