"""One number everywhere: the dashboard, the API, the bot's /devops and /metrics agree.

They used to disagree (the web said 0.27/day where the bot said 0.3/day, the bot's
"Failed" added the rolled-back deployments); now every channel shows the report through
``dora.presenter``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from devops_center.deployments import service as deployments
from devops_center.deployments.schemas import DeploymentIn
from devops_center.digest import service as digest
from devops_center.dora import presenter
from devops_center.users import tokens as api_tokens

STATUSES = ["success"] * 6 + ["failed", "rolled_back"]  # 8 in 30 days: 0.2667/day, 25%


async def seed(sessionmaker, settings) -> None:
    now = datetime.now(UTC)
    async with sessionmaker() as s, s.begin():
        for i, status in enumerate(STATUSES):
            started = now - timedelta(days=3 * i + 1)
            await deployments.record(
                s,
                data=DeploymentIn(
                    commit_sha=f"{i:07x}abc",
                    started_at=started,
                    completed_at=started + timedelta(minutes=5),
                    status=status,
                    service="web",
                    external_id=f"web-{i}",
                ),
                settings=settings,
            )


def test_the_presenter_decides_the_words() -> None:
    assert presenter.per_day(2 / 7, "en") == "0.29/day"
    assert presenter.per_day(0.5, "ru") == "0.5/день"
    assert presenter.percent(20.0) == "20%" and presenter.percent(12.345) == "12.3%"
    assert presenter.duration(4 * 3600, "en") == "4 hr"
    assert presenter.duration(30, "en") == "30 s"  # was "3 s": zeros of "30" were cut
    assert presenter.number(100, 0) == "100" and presenter.number(0.0) == "0"


async def test_every_channel_shows_the_same_figures(
    as_role, client, sessionmaker, settings
) -> None:
    await seed(sessionmaker, settings)
    owner = await as_role("owner")

    page = (await owner.get("/admin/devops")).text
    assert "0.27/day" in page and "25%" in page
    assert (
        '<article id="stat-failed"><span class="muted">Failed</span><p class="dora-value">1<'
        in (page)
    )
    assert 'id="stat-rolled_back"' in page

    async with sessionmaker() as s:
        text = await digest.devops_text(s, settings=settings, lang="en")
    assert "🚀 Deployment Frequency: 0.27/day" in text
    assert "❌ Change Failure Rate: 25%" in text
    assert "• Failed: 1" in text and "• Rolled back: 1" in text and "• Total: 8" in text

    async with sessionmaker() as s, s.begin():
        _t, token = await api_tokens.create_token(s, name="r", scopes=["metrics:read"])
    api = (
        await client.get("/api/v1/metrics/dora", headers={"authorization": f"Bearer {token}"})
    ).json()
    assert api["metrics"]["deployment_frequency"]["value"] == 8 / 30
    assert api["metrics"]["change_failure_rate"]["value"] == 25.0
    assert api["stats"]["failed"] == 1 and api["stats"]["rolled_back"] == 1
    assert api["timezone"] == settings.timezone

    scrape = (await client.get("/metrics")).text
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
    }
    window = (("window", "30d"),)
    assert values[("dcc_dora_deployment_frequency_per_day", window)] == 8 / 30
    assert values[("dcc_dora_change_failure_ratio", window)] == 0.25
    assert values[("dcc_deployments", (("status", "rolled_back"), ("window", "30d")))] == 1
