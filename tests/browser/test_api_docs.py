"""/api/docs in headless Chromium: Swagger UI draws every operation of the JSON API from
the vendored files, and the page's Content-Security-Policy blocks nothing it needs.

Screenshot: ``test-artifacts/api-docs/api-docs-1280.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import DESKTOP

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "api-docs"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_swagger_ui_lists_every_operation_without_a_csp_violation(
    server: str, browser: Any
) -> None:
    async with httpx.AsyncClient(base_url=server) as c:
        schema = (await c.get("/api/openapi.json")).json()
        headers = (await c.get("/api/docs")).headers
    operations = [(method.upper(), path) for path, ops in schema["paths"].items() for method in ops]
    assert len(operations) >= 4
    csp = headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "http" not in csp

    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))

    await page.goto(f"{server}/api/docs")
    await page.wait_for_selector(".opblock-summary", timeout=15_000)
    shown = await page.eval_on_selector_all(
        ".opblock",
        """els => els.map(e => [
            e.querySelector('.opblock-summary-method').textContent.trim(),
            e.querySelector('.opblock-summary-path').getAttribute('data-path')])""",
    )
    assert sorted(map(tuple, shown)) == sorted(operations)
    assert "DevOps Command Center" in await page.locator(".info .title").first.inner_text()

    # Expand one operation: its parameters and responses are drawn (React works under CSP).
    await page.click(".opblock-summary >> nth=0")
    await page.wait_for_selector(".opblock-body .responses-wrapper")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "api-docs-1280.png"), full_page=True)
    await context.close()
    assert not outside, f"requests to other sites: {outside}"
    assert not problems, "\n".join(problems)
