"""/admin/architecture in headless Chromium: the graph is drawn, searched, collapsed to
packages and opened again, with no Content-Security-Policy violation.

Screenshots at 1280 px and 375 px go to ``test-artifacts/architecture``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.users.models import User
from tests.architecture import tree as fixture
from tests.architecture.conftest import store
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_support_hub import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS.parent / "architecture"
COUNT = "() => window.dccArchitecture ? window.dccArchitecture.cy.nodes().length : -1"
LABELS = (
    "(kind) => window.dccArchitecture.cy.nodes('[kind = \"' + kind + '\"]')"
    ".map(n => n.data('name')).sort()"
)


async def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1280", DESKTOP), ("375", PHONE)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(300)
        await page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


def _many_modules(root: Path) -> Path:
    """Eight packages of twenty modules (more than the 150 drawn one by one)."""
    (root / "big").mkdir()
    (root / "big" / "__init__.py").write_text("")
    for p in range(8):
        package = root / "big" / f"part{p}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        for m in range(20):
            target = f"big.part{(p + 1) % 8}.m{m}" if m == 0 else f"big.part{p}.m{m - 1}"
            (package / f"m{m}.py").write_text(f"import {target}\n")
    return root / "big"


async def _until(page: Any, script: str, timeout: float = 20.0) -> None:
    """Poll ``script`` (a function) until it returns true. (wait_for_function would
    evaluate a string, which the page's CSP refuses.)"""
    for _ in range(int(timeout / 0.1)):
        if await page.evaluate(script):
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"never true: {script}")


async def _open(chromium: Any, base: str, path: str) -> tuple[Any, list[str]]:
    page = await chromium.new_page(viewport=DESKTOP)
    problems: list[str] = []
    # console errors (a CSP refusal is one), page errors, failed requests (the browser's
    # own /favicon.ico included: the app answers it)
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    await sign_in(page, base, "owner@test.local")
    await page.goto(base + path)
    await _until(page, f"({COUNT})() > 0 && !document.getElementById('arch-status').textContent")
    return page, problems


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_graph_is_drawn_and_searched(
    server: str,
    browser: Any,
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    await store(sessionmaker, fixture.write_tree(tmp_path / "repo"))
    page, problems = await _open(browser, server, "/admin/architecture?name=shop")
    modules = await page.evaluate(LABELS, "module")
    # every module, a box per package ("manage" beside them: no single top package)
    assert modules == sorted(fixture.MODULES)
    assert await page.evaluate(LABELS, "box") == ["shop", "shop.core", "shop.plugins"]
    cycle_edges = await page.evaluate(
        "() => window.dccArchitecture.cy.edges('.cycle').map(e => e.id()).sort()"
    )
    assert "e:m:shop.plugins.extra>m:shop.plugins.loader" in cycle_edges
    assert "e:m:shop.util>m:shop.core.models" not in cycle_edges  # type checking only
    assert await page.evaluate(
        "() => window.dccArchitecture.cy.getElementById('e:m:shop.util>m:shop.core.models')"
        ".hasClass('tc')"
    )
    await page.fill("#arch-search", "prices")
    await page.press("#arch-search", "Enter")
    await page.wait_for_timeout(500)
    info = await page.inner_text("#arch-info")
    assert info.startswith("shop.core.prices") and "in an import cycle" in info
    marked = await page.evaluate(
        "() => window.dccArchitecture.cy.nodes('.mark').map(n => n.data('name'))"
    )
    assert marked == ["shop.core.prices"]
    await _shoot(page, "shop")
    await page.click("#arch-info a")
    for _ in range(100):
        if page.url.endswith("/admin/architecture/module?scan=shop&name=shop.core.prices"):
            break
        await page.wait_for_timeout(100)
    await page.wait_for_load_state()
    assert "shop.core.prices" in await page.inner_text("h1")
    await _shoot(page, "shop-module")
    # in Russian on a phone: no sideways scrolling (the longer labels of the pickers)
    await page.click("button[name=language][value=ru]")
    await page.wait_for_load_state()
    await page.set_viewport_size(PHONE)
    for path in (
        "/admin/architecture?name=shop",
        "/admin/architecture/module?scan=shop&name=shop.core.prices",
    ):
        await page.goto(server + path)
        assert await page.get_attribute("html", "lang") == "ru"
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide in Russian"
    assert not problems, problems


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_large_graph_opens_collapsed_to_packages(
    server: str,
    browser: Any,
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    await store(sessionmaker, _many_modules(tmp_path), name="big")
    page, problems = await _open(browser, server, "/admin/architecture?name=big")
    packages = await page.evaluate(LABELS, "package")
    assert packages == [f"big.part{p}" for p in range(8)]
    assert await page.evaluate(LABELS, "module") == []
    # a tap on a package opens it in place
    await page.evaluate("() => window.dccArchitecture.cy.getElementById('p:big.part3').emit('tap')")
    await _until(page, f"() => ({COUNT})() > 8")
    opened = await page.evaluate(LABELS, "module")
    assert opened == sorted(f"big.part3.m{m}" for m in range(20))
    # the search opens the package of a module it finds
    await page.fill("#arch-search", "big.part6.m12")
    await page.press("#arch-search", "Enter")
    await _until(page, "() => window.dccArchitecture.cy.nodes('.mark').length === 1")
    assert "big.part6.m12" in await page.evaluate(LABELS, "module")
    await page.click("#arch-toggle")  # every module
    await _until(page, f"() => ({COUNT})() >= 160")
    await _shoot(page, "big")
    assert not problems, problems
