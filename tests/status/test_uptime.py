"""Uptime arithmetic against a hand-made result series; roll-ups keep it; scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.outbox.models import Job
from devops_center.status import service as status
from devops_center.status.models import CheckResult, CheckRollup
from tests.conftest import make_settings

NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)


def _rows(name: str, start: datetime, count: int, ok_every: int, step: timedelta) -> list[dict]:
    """``count`` results from ``start`` back in time; every ``ok_every``-th one failed."""
    out = []
    for i in range(count):
        ok = 0 if ok_every and i % ok_every == 0 else 1
        out.append(
            {
                "check_name": name,
                "ok": ok,
                "state": "up" if ok else "pending",
                "response_ms": 100.0 + i % 7,
                "message": None,
                "checked_at": start - step * i,
            }
        )
    return out


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    rows = []
    # Last 24 h: 96 results every 15 min, 1 in 8 failed → 84/96 = 87.5 %.
    rows += _rows("api", NOW - timedelta(minutes=1), 96, 8, timedelta(minutes=15))
    # 1–6 days ago: 120 results, all fine.
    rows += _rows("api", NOW - timedelta(days=1, hours=1), 120, 0, timedelta(hours=1))
    # 10 and 20 days ago: 2 failed results; a maintenance result that never counts.
    for days in (10, 20):
        rows.append({**rows[1], "ok": 0, "checked_at": NOW - timedelta(days=days)})
    rows.append(
        {**rows[0], "ok": 0, "state": "maintenance", "checked_at": NOW - timedelta(hours=2)}
    )
    # Older than 30 days: ignored.
    rows.append({**rows[0], "ok": 0, "checked_at": NOW - timedelta(days=31)})
    # Another check, all down in the last hour.
    rows += _rows("db", NOW - timedelta(minutes=2), 4, 1, timedelta(minutes=10))
    async with sessionmaker() as s, s.begin():
        await s.execute(insert(CheckResult), rows)


INTERVALS = {"api": 900, "db": 600}  # seconds between probes


async def test_uptime_windows(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _seed(sessionmaker)
    async with sessionmaker() as s:
        ups = await status.uptimes(s, now=NOW, intervals=INTERVALS)
    api = ups["api"]
    # Last 24 h: each result holds its 15 minutes; the latest (failed) one the minute
    # up to now; the failed one at 10:29 holds only until the maintenance result at 10:30,
    # which counts for nothing until 10:44.
    up, observed = 84 * 900.0, 95 * 900.0 + 60 - 840
    assert api.seconds["24h"] == (up, observed)
    assert round(api.percent("24h") or 0, 3) == round(up / observed * 100, 3)
    # 1–6 days ago: hourly results hold at most three intervals (45 min): 120 × 2,700 s.
    assert api.seconds["7d"] == (up + 120 * 2700, observed + 120 * 2700)
    # 10 and 20 days ago: two lone failed results, 45 min down each.
    assert api.seconds["30d"] == (up + 120 * 2700, observed + 122 * 2700)
    assert ups["db"].percent("24h") == 0.0
    assert status.Uptime().percent("24h") is None


async def test_uptime_is_time_not_probes(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Two checks down the same hour of the last day, one probed every minute, the other
    every 5 minutes while up and every 30 s while down (its interval tightened while
    someone watched it): both were up 23 of 24 hours, so both show 95.83 %, not 95.83 %
    and 69.7 % (276 good probes of 396). A third, whose worker stopped for 6 hours
    right after a failed probe: that probe holds three intervals, the rest is unknown."""
    day = NOW - timedelta(hours=24)
    outage = (NOW - timedelta(hours=3), NOW - timedelta(hours=2))

    def result(name: str, at: datetime, ok: bool) -> dict:
        return {
            "check_name": name,
            "ok": int(ok),
            "state": "up" if ok else "down",
            "response_ms": 20.0 if ok else None,
            "message": None if ok else "connection refused",
            "checked_at": at,
        }

    rows = []
    at = day
    while at < NOW:  # steady: every minute
        rows.append(result("steady", at, not outage[0] <= at < outage[1]))
        at += timedelta(minutes=1)
    at = day
    while at < NOW:  # eager: every 5 minutes, every 30 s while down
        down = outage[0] <= at < outage[1]
        rows.append(result("eager", at, not down))
        at += timedelta(seconds=30) if down else timedelta(minutes=5)
    at = day
    while at < NOW:  # sleepy: a failed probe at NOW-12h, then nothing for 6 hours
        if not NOW - timedelta(hours=12) < at < NOW - timedelta(hours=6):
            rows.append(result("sleepy", at, at != NOW - timedelta(hours=12)))
        at += timedelta(minutes=1)
    async with sessionmaker() as s, s.begin():
        await s.execute(insert(CheckResult), rows)
    settings = make_settings(
        db_url,
        tmp_path,
        checks=[
            {"name": "steady", "type": "tcp", "host": "127.0.0.1", "port": 9, "interval": 60},
            {"name": "eager", "type": "tcp", "host": "127.0.0.1", "port": 9, "interval": 300},
            {"name": "sleepy", "type": "tcp", "host": "127.0.0.1", "port": 9, "interval": 60},
        ],
    )
    async with sessionmaker() as s:
        views = {v.name: v for v in await status.current_states(s, settings, now=NOW)}
    assert round(views["steady"].uptime_24h or 0, 2) == 95.83
    assert round(views["eager"].uptime_24h or 0, 2) == 95.83
    sleepy = views["sleepy"].uptime_24h or 0
    assert round(sleepy, 2) == round((1 - 180 / (18 * 3600)) * 100, 2)  # 99.72, not 66.7

    # The hourly roll-ups keep the same figures.
    async with sessionmaker() as s, s.begin():
        await status.roll_up(s, now=NOW, intervals={"steady": 60, "eager": 300, "sleepy": 60})
    async with sessionmaker() as s:
        again = {v.name: v for v in await status.current_states(s, settings, now=NOW)}
    for name in ("steady", "eager", "sleepy"):
        assert round(again[name].uptime_24h or 0, 6) == round(views[name].uptime_24h or 0, 6)


async def test_roll_up_keeps_uptime_and_deletes_raw(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessionmaker)
    async with sessionmaker() as s:
        before = await status.uptimes(s, now=NOW, intervals=INTERVALS)
        raw_before_noon = await s.scalar(
            select(func.count()).where(CheckResult.checked_at < NOW.replace(minute=0))
        )
    async with sessionmaker() as s, s.begin():
        folded = await status.roll_up(s, now=NOW, intervals=INTERVALS)
    assert folded == raw_before_noon  # every complete hour (12:25 → up to 12:00)
    async with sessionmaker() as s, s.begin():
        assert await status.roll_up(s, now=NOW, intervals=INTERVALS) == 0  # nothing left to fold
        assert await status.rolled_until(s) == NOW.replace(minute=0)
        assert (
            await status.uptimes(s, now=NOW, intervals=INTERVALS) == before
        )  # now mostly from roll-ups
        # Raw results older than 7 days go (they are in the roll-ups).
        assert await status.purge(s, now=NOW) == (3, 0)
        oldest = await s.scalar(select(func.min(CheckResult.checked_at)))
        assert oldest is not None and oldest >= NOW - timedelta(days=8)
        after = await status.uptimes(s, now=NOW, intervals=INTERVALS)
    assert after == before

    # An hour later the new results are folded in too, and uptime moves on.
    later = NOW + timedelta(hours=1)
    async with sessionmaker() as s, s.begin():
        assert (
            await status.roll_up(s, now=later, intervals=INTERVALS) == 5
        )  # 12:08, 12:18, 12:28 (db), 12:14, 12:29
        assert (await status.uptimes(s, now=later, intervals=INTERVALS))["db"].percent("24h") == 0

    # Roll-ups go after 90 days.
    async with sessionmaker() as s, s.begin():
        assert (await status.purge(s, now=NOW + timedelta(days=65)))[1] == 1  # the 31-day one
        await status.purge(s, now=NOW + timedelta(days=200))
        assert await s.scalar(select(func.count()).select_from(CheckRollup)) == 0


async def test_response_series_buckets(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _seed(sessionmaker)
    async with sessionmaker() as s:
        points = await status.response_series(
            s, name="db", since=NOW - timedelta(hours=1), until=NOW, bucket_seconds=3600
        )
    assert sum(p.samples for p in points) == 4
    assert all(p.ups == 0 for p in points)
    assert all(p.avg_ms is not None and 100 <= p.avg_ms <= 107 for p in points)


async def test_schedule_enqueues_each_probe_once(
    db_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from devops_center.status.jobs import schedule_checks

    settings = make_settings(
        db_url,
        tmp_path,
        checks=[{"name": "tcp1", "type": "tcp", "host": "127.0.0.1", "port": 9, "interval": 60}],
    )
    now = datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC)
    async with sessionmaker() as s, s.begin():
        first = await schedule_checks(settings, s, now=now)
        again = await schedule_checks(settings, s, now=now + timedelta(seconds=10))
    # web, database and tcp1 (the bot has no token: not configured, never probed)
    assert first == 3 and again == 0
    async with sessionmaker() as s:
        names = sorted(
            p["name"]
            for p in (
                await s.execute(select(Job.payload).where(Job.kind == "status.check"))
            ).scalars()
        )
    assert names == ["database", "tcp1", "web"]
