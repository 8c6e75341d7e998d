"""/admin/devops and /admin/deployments in headless Chromium, Russian and English, 375
and 1280 px: the trend charts cover the selected window (a point a day for 7 days, a
week for 90) with a caption and both axes titled; each failed deployment shows why.

Screenshots: ``test-artifacts/honest``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_layout import ACCOUNTS, _sign_in, demo  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "honest"
CHART = """(metric) => {
  const chart = window.Chart.getChart(document.querySelector(`canvas[data-metric='${metric}']`));
  if (!chart) { return null; }
  return {labels: chart.data.labels.length, x: chart.options.scales.x.title.text,
          y: chart.options.scales.y.title.text};
}"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", ["owner", "superadmin"])  # Russian, English
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_trends_follow_the_window_and_failures_say_why(
    server: str,
    browser: Any,
    demo: None,  # noqa: F811
    role: str,
    viewport: dict[str, int],
) -> None:
    lang = ACCOUNTS[role][2]
    width = viewport["width"]
    page = await _sign_in(browser, server, role, viewport)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    words = {
        "ru": ("день", "неделя с", "деплоев в день", "Одна точка — день", "Одна точка — неделя"),
        "en": (
            "day",
            "week starting",
            "deployments per day",
            "One point a day",
            "One point a week",
        ),
    }[lang]
    for days, points, x_axis, caption in (
        (7, {8}, words[0], words[3]),
        (90, {13, 14}, words[1], words[4]),
    ):
        await page.goto(f"{server}/admin/devops?days={days}")
        await page.wait_for_function(
            "() => window.Chart && window.Chart.getChart("
            "document.querySelector('canvas[data-metric]'))"
        )
        drawn = await page.evaluate(CHART, "deployment_frequency")
        assert drawn is not None and drawn["labels"] in points, drawn
        assert drawn["x"] == x_axis and drawn["y"] == words[2]
        first_caption = page.locator(".dora-caption").first
        assert await first_caption.is_visible()
        assert caption in (await first_caption.inner_text())
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        await page.screenshot(
            path=str(ARTIFACTS / f"devops-{days}d-{lang}-{width}.png"), full_page=True
        )

    await page.goto(f"{server}/admin/deployments?status=failed")
    reasons = page.locator(".failure-reason")
    assert await reasons.count() >= 1
    texts = [t.strip() for t in await reasons.all_inner_texts()]
    assert all(texts), texts  # every failed one says why (its reason or the fallback)
    assert any("timed out" in t or "502" in t or "REDIS_URL" in t for t in texts), texts
    assert await reasons.first.is_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    await page.screenshot(path=str(ARTIFACTS / f"deployments-{lang}-{width}.png"), full_page=True)
    href = await page.locator("a[href^='/admin/deployments/']").first.get_attribute("href")
    await page.goto(f"{server}{href}")
    assert await page.locator("[data-failure-reason]").is_visible()
    await page.screenshot(path=str(ARTIFACTS / f"deployment-{lang}-{width}.png"), full_page=True)
    await page.context.close()
