"""DORA formulas as the SPEC pins them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.dora import service as dora
from devops_center.incidents import service as incidents
from devops_center.incidents.models import Incident

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def dep(ago: timedelta, status: str = "success", **kw: Any) -> Deployment:
    started = NOW - ago
    duration = kw.pop("duration", 300)
    return Deployment(
        commit_sha=kw.pop("sha", "a" * 40),
        started_at=started,
        completed_at=None if status == "in_progress" else started + timedelta(seconds=duration),
        duration_seconds=None if status == "in_progress" else duration,
        status=status,
        service=kw.pop("service", "web"),
        environment=kw.pop("environment", "production"),
        kind=kw.pop("kind", "normal"),
        **kw,
    )


async def add(sessionmaker, *rows: Any) -> None:
    async with sessionmaker() as s, s.begin():
        s.add_all(rows)


async def report(sessionmaker, **kw: Any) -> dora.DoraReport:
    async with sessionmaker() as s:
        return await dora.dora_report(s, now=NOW, **kw)


async def test_brief_sample_fifteen_deployments_three_failed(sessionmaker) -> None:
    rows = [
        dep(timedelta(days=i * 2 + 1), "failed" if i in (2, 7) else "success") for i in range(14)
    ]
    rows.append(dep(timedelta(hours=5), "rolled_back"))
    rows.append(dep(timedelta(hours=1), "in_progress"))  # counts nowhere
    rows.append(dep(timedelta(days=31)))  # previous window
    rows.append(dep(timedelta(days=2), environment="staging"))  # other environment
    await add(sessionmaker, *rows)
    r = await report(sessionmaker)
    assert r.stats.total == 15 and r.stats.failed == 2 and r.stats.rolled_back == 1
    assert r.stats.success == 12 and r.stats.in_progress == 1
    assert r.deployment_frequency.value == 0.5
    assert r.change_failure_rate.value == 20.0
    assert r.deployment_frequency.previous == 1 / 30
    assert r.change_failure_rate.previous == 0.0
    assert r.change_failure_rate.level == "low"
    assert r.deployment_frequency.trend == "better"
    assert r.change_failure_rate.trend == "worse"
    assert r.bucket == "day" and len(r.deployment_frequency.series) == 31  # 30 days: daily
    assert sum(v or 0 for _w, v in r.change_failure_rate.series) > 0


async def test_no_deployments_is_no_data_not_zero(sessionmaker) -> None:
    r = await report(sessionmaker)
    assert r.change_failure_rate.value is None
    assert r.lead_time.value is None and r.time_to_restore.value is None
    assert r.rework_rate.value is None
    assert r.deployment_frequency.value == 0.0 and r.deployment_frequency.level is None
    assert r.stats.total == 0


async def test_lead_time_median_of_first_deployed_commits(sessionmaker) -> None:
    first = dep(timedelta(days=10), sha="b" * 40, duration=0)
    failed = dep(timedelta(days=5), "failed", sha="c" * 40, duration=0)
    second = dep(timedelta(days=3), sha="c" * 40, duration=0)
    await add(sessionmaker, first, failed, second)
    async with sessionmaker() as s, s.begin():

        def commit(d: Deployment, sha: str, hours: float) -> DeploymentCommit:
            return DeploymentCommit(
                deployment_id=d.id,
                sha=sha * 40,
                committed_at=d.completed_at - timedelta(hours=hours),
            )

        s.add_all(
            [
                commit(first, "1", 1),
                commit(first, "2", 3),
                commit(failed, "3", 100),  # failed deployments don't count
                commit(second, "4", 5),
                commit(second, "5", 7),
                commit(second, "1", 200),  # already shipped by `first`: not counted again
            ]
        )
    r = await report(sessionmaker)
    lead = r.lead_time
    assert lead.sample_size == 4
    assert lead.value == 4 * 3600  # median of 1, 3, 5, 7 h interpolates to 4 h
    assert lead.extra["p90"] == round((5 + 0.7 * 2) * 3600, 3)
    assert lead.level == "elite" and lead.label is None


async def test_lead_time_falls_back_to_pipeline_duration(sessionmaker) -> None:
    await add(
        sessionmaker,
        dep(timedelta(days=1), duration=100),
        dep(timedelta(days=2), duration=200),
        dep(timedelta(days=3), "failed", duration=5000),
    )
    r = await report(sessionmaker)
    assert r.lead_time.value == 150
    assert r.lead_time.label == dora.PIPELINE_DURATION
    assert r.lead_time.level is None


async def test_time_to_restore_and_open_incidents(sessionmaker) -> None:
    def incident(opened_days: float, minutes: float | None, **kw: Any) -> Incident:
        opened = NOW - timedelta(days=opened_days)
        return Incident(
            title="x",
            source="manual",
            opened_at=opened,
            resolved_at=None if minutes is None else opened + timedelta(minutes=minutes),
            environment=kw.pop("environment", "production"),
            service=kw.pop("service", None),
        )

    await add(
        sessionmaker,
        incident(3, 30),
        incident(4, 90, service="web"),
        incident(5, 600),
        incident(1, None),
        incident(40, 5000),  # previous window
        incident(2, 1, environment="staging"),
    )
    r = await report(sessionmaker)
    assert r.time_to_restore.value == 90 * 60
    assert r.time_to_restore.sample_size == 3
    assert r.time_to_restore.extra["open"] == 1 and r.open_incidents == 1
    assert r.time_to_restore.level == "high"
    assert r.time_to_restore.previous == 5000 * 60
    assert r.time_to_restore.trend == "better"
    only_web = await report(sessionmaker, service="web")
    assert only_web.time_to_restore.value == 90 * 60


async def test_rework_rate_and_service_filter(sessionmaker) -> None:
    await add(
        sessionmaker,
        dep(timedelta(days=1), kind="hotfix"),
        dep(timedelta(days=2), kind="rollback", service="bot"),
        dep(timedelta(days=3)),
        dep(timedelta(days=4), service="bot"),
    )
    r = await report(sessionmaker)
    assert r.rework_rate.value == 50.0
    bot = await report(sessionmaker, service="bot")
    assert bot.stats.total == 2 and bot.rework_rate.value == 50.0
    web7 = await report(sessionmaker, service="web", days=7)
    assert web7.deployment_frequency.value == 2 / 7


async def test_frequency_level_from_days_with_deployments(sessionmaker) -> None:
    # Every day of the last 13 weeks: elite. Only one day a week: high.
    daily = [dep(timedelta(days=d, hours=1)) for d in range(0, 92)]
    await add(sessionmaker, *daily)
    assert (await report(sessionmaker)).deployment_frequency.level == "elite"
    weekly = [dep(timedelta(days=7 * w + 1), service="bot") for w in range(14)]
    await add(sessionmaker, *weekly)
    assert (await report(sessionmaker, service="bot")).deployment_frequency.level == "high"
    monthly = [dep(timedelta(days=25 * m + 1), service="cron") for m in range(4)]
    await add(sessionmaker, *monthly)
    assert (await report(sessionmaker, service="cron")).deployment_frequency.level == "medium"


async def test_weeks_follow_the_configured_time_zone(sessionmaker) -> None:
    # Monday 2026-11-23 00:30 in Moscow is still Sunday 21:30 UTC.
    at = datetime(2026, 11, 22, 21, 30, tzinfo=UTC)
    await add(sessionmaker, dep(NOW - at))
    utc = await report(sessionmaker, tz="UTC", days=90)
    msk = await report(sessionmaker, tz="Europe/Moscow", days=90)
    week_utc = dict(utc.deployment_frequency.series)
    week_msk = dict(msk.deployment_frequency.series)
    assert week_utc["2026-11-16"] and not week_utc["2026-11-23"]
    assert week_msk["2026-11-23"] and not week_msk["2026-11-16"]
    assert msk.timezone == "Europe/Moscow"


async def test_dst_zone_days(sessionmaker) -> None:
    # Berlin: 2026-10-25 03:00 CEST → 02:00 CET. Both sides of the change land right.
    before = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # 00:30 Sunday CEST
    after = datetime(2026, 10, 25, 23, 30, tzinfo=UTC)  # 00:30 Monday CET
    await add(sessionmaker, dep(NOW - before), dep(NOW - after))
    r = await report(sessionmaker, tz="Europe/Berlin", days=90)
    weekly = dict(r.deployment_frequency.series)
    assert weekly["2026-10-19"] and weekly["2026-10-26"]


async def test_trend_follows_the_selected_window(sessionmaker) -> None:
    """The series covers the window asked for, a point a day up to 31 days and a week
    beyond, and adds up to the window's deployments (today: always 12 weeks)."""
    await add(sessionmaker, *[dep(timedelta(days=d, hours=3)) for d in range(0, 200, 2)])
    for days, bucket, points in ((7, "day", 8), (30, "day", 31), (90, "week", 14)):
        r = await report(sessionmaker, days=days)
        assert (r.bucket, len(r.buckets)) == (bucket, points), days
        first = datetime.fromisoformat(r.buckets[0]).replace(tzinfo=UTC)
        assert first <= r.start < first + timedelta(days=1 if bucket == "day" else 7)
        assert r.buckets[-1] <= NOW.date().isoformat()
    week = await report(sessionmaker, days=7)
    per_day = [v for _d, v in week.deployment_frequency.series]
    assert per_day.count(None) == 0 and sum(1 for v in per_day if v) in (3, 4)
    year = await report(sessionmaker, days=365)
    assert year.bucket == "week" and 52 <= len(year.buckets) <= 54
    assert year.as_dict()["series_bucket"] == "week"
    assert year.as_dict()["metrics"]["lead_time"]["series"][0].keys() == {"start", "value"}


def test_levels_and_percentile() -> None:
    assert dora.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert dora.percentile([5.0], 0.9) == 5.0
    assert dora.percentile([], 0.5) is None
    assert dora.change_failure_level(5) == "elite"
    assert dora.change_failure_level(15) == "medium"
    assert dora.lead_time_level(3600 * 30) == "high"
    assert dora.time_to_restore_level(59 * 60) == "elite"
    assert dora.frequency_level([0] * 12) == "low"


async def test_a_read_right_after_a_write_is_fresh_in_another_process(
    sessionmaker, settings
) -> None:
    """No cache between a write and the figures: another engine (another web process)
    reading right after the commit sees the new deployment, also one bulk-inserted."""
    from devops_center.db import make_engine, make_sessionmaker
    from devops_center.deployments import service as deployments
    from devops_center.deployments.schemas import DeploymentIn

    other = make_engine(settings.database_url, pool_size=1)
    elsewhere = make_sessionmaker(other)

    async def other_report() -> dora.DoraReport:
        async with elsewhere() as s:
            return await dora.dora_report(s, now=NOW)

    try:
        await add(sessionmaker, dep(timedelta(days=1)))
        assert (await other_report()).stats.total == 1
        await add(sessionmaker, dep(timedelta(days=2)))  # straight into the table (ORM)
        assert (await other_report()).stats.total == 2
        async with sessionmaker() as s, s.begin():
            await deployments.record(
                s,
                data=DeploymentIn(
                    commit_sha="abcdef1",
                    started_at=NOW - timedelta(hours=3),
                    completed_at=NOW - timedelta(hours=2),
                    status="failed",
                ),
                settings=settings,
            )
        fresh = await other_report()
        assert fresh.stats.total == 3 and fresh.stats.failed == 1 and fresh.open_incidents == 1
        async with sessionmaker() as s, s.begin():
            (incident,) = await incidents.list_incidents(s, open_only=True)
            await incidents.resolve(
                s, incident_id=incident.id, resolved_at=NOW - timedelta(minutes=1)
            )
        after = await other_report()
        assert after.open_incidents == 0 and after.time_to_restore.sample_size == 1
    finally:
        await other.dispose()
