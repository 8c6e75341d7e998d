"""The roll-ups under a randomized history: kept incrementally, rebuilt from scratch, and
an independent recomputation of the five figures from the raw rows all agree.

The history mixes every way a deployment changes: registrations through the API's
function (late and out of order, with commits), repeats of an external id that change
its status (success → rolled back, in progress → success), its start or its commits,
redeploys of one commit, rows written straight through the ORM, deletions through the
ORM and through Core statements, in a time zone with summer time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from devops_center.deployments import rebuild, rollup_values, rollups
from devops_center.deployments import service as deployments
from devops_center.deployments.models import (
    CommitFirstDeploy,
    Deployment,
    DeploymentCommit,
    DeploymentDay,
)
from devops_center.deployments.schemas import CommitIn, DeploymentIn
from devops_center.dora import service as dora
from devops_center.dora.rules import percentile
from devops_center.incidents.models import Incident

NOW = datetime(2026, 11, 28, 12, 0, 30, 250_000, tzinfo=UTC)
ZONE = "America/New_York"  # DST ended 2026-11-01: both offsets inside the windows
SERVICES = ("web", "bot", "api")
SHAS = [f"{i:040x}" for i in range(1, 60)]


async def _tables(session: Any) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    days = {
        (
            r.service,
            r.environment,
            r.day,
            r.total,
            r.running,
            r.success,
            r.failed,
            r.rolled_back,
            r.rework,
            tuple(sorted(rollup_values.split_values(r.leads))),
            tuple(sorted(rollup_values.split_values(r.durations))),
        )
        for r in (await session.execute(select(DeploymentDay))).scalars()
    }
    firsts = {
        (r.service, r.environment, r.sha, r.deployment_id, r.started_at, r.lead_us)
        for r in (await session.execute(select(CommitFirstDeploy))).scalars()
    }
    return days, firsts


def _commits(rng: random.Random, started: datetime) -> list[CommitIn]:
    return [
        CommitIn(
            sha=sha,
            committed_at=started - timedelta(seconds=rng.randint(60, 5 * 86400), microseconds=7),
        )
        for sha in rng.sample(SHAS, rng.randint(0, 4))
    ]


async def _history(sessionmaker: Any, settings: Any, seed: int) -> None:
    rng = random.Random(seed)
    ids: list[str] = []
    for step in range(140):
        roll = rng.random()
        if roll < 0.55 or not ids:  # a new registration, any time in the last 100 days
            started = NOW - timedelta(seconds=rng.randint(60, 100 * 86400), microseconds=3)
            status = rng.choice(("success", "success", "success", "failed", "in_progress"))
            external = f"run-{step}"
            ids.append(external)
            data = DeploymentIn(
                commit_sha=rng.choice(SHAS),
                started_at=started,
                completed_at=None
                if status == "in_progress"
                else started + timedelta(seconds=rng.randint(30, 3000)),
                status=status,
                service=rng.choice(SERVICES),
                environment=rng.choice(("production", "production", "staging")),
                kind=rng.choice(("normal", "normal", "hotfix", "rollback")),
                external_id=external,
                commits=_commits(rng, started) if rng.random() < 0.8 else None,
            )
            async with sessionmaker() as s, s.begin():
                await deployments.record(s, data=data, settings=settings)
        elif roll < 0.75:  # a repeat: new status, maybe a corrected start or commits
            external = rng.choice(ids)
            async with sessionmaker() as s, s.begin():
                found = await deployments.find_by_external_id(s, external_id=external)
                if found is None:
                    continue
                started = found.started_at
                if rng.random() < 0.3:
                    started = started - timedelta(hours=rng.randint(1, 30))
                status = rng.choice(("success", "rolled_back", "failed"))
                await deployments.record(
                    s,
                    data=DeploymentIn(
                        commit_sha=found.commit_sha,
                        started_at=started,
                        completed_at=started + timedelta(seconds=rng.randint(30, 3000)),
                        status=status,
                        service=found.service,
                        environment=found.environment,
                        kind=found.kind,
                        external_id=external,
                        commits=_commits(rng, started) if rng.random() < 0.4 else None,
                    ),
                    settings=settings,
                )
        elif roll < 0.85:  # straight through the ORM, commits in a second flush
            started = NOW - timedelta(seconds=rng.randint(60, 100 * 86400))
            async with sessionmaker() as s, s.begin():
                row = Deployment(
                    commit_sha=rng.choice(SHAS),
                    started_at=started,
                    completed_at=started + timedelta(seconds=120),
                    duration_seconds=120,
                    status="success",
                    service=rng.choice(SERVICES),
                    environment="production",
                    kind="normal",
                )
                s.add(row)
                await s.flush()
                s.add_all(
                    DeploymentCommit(deployment_id=row.id, sha=c.sha, committed_at=c.committed_at)
                    for c in _commits(rng, started)
                )
        elif roll < 0.93:  # deleted through the ORM
            external = rng.choice(ids)
            async with sessionmaker() as s, s.begin():
                found = await deployments.find_by_external_id(s, external_id=external)
                if found is not None:
                    await s.delete(found)
        else:  # deleted by a Core statement, announced
            external = rng.choice(ids)
            async with sessionmaker() as s, s.begin():
                found = await deployments.find_by_external_id(s, external_id=external)
                if found is not None:
                    await rollups.before_change(s, [found.id])
                    await s.execute(delete(Deployment).where(Deployment.id == found.id))


@dataclass(frozen=True)
class Figures:
    frequency: float
    change_failure_rate: float | None
    lead_time: float | None
    time_to_restore: float | None
    rework_rate: float | None


async def _reference(session: Any, *, days: int, environment: str, service: str | None) -> Figures:
    """The SPEC's formulas on the raw rows, in plain Python (no roll-up, no SQL
    aggregate)."""
    end = NOW
    start = end - timedelta(days=days)
    deps = list((await session.execute(select(Deployment))).scalars())
    commits = list((await session.execute(select(DeploymentCommit))).scalars())
    incidents = list((await session.execute(select(Incident))).scalars())

    def chosen(d: Deployment) -> bool:
        return d.environment == environment and (service is None or d.service == service)

    window = [
        d for d in deps if chosen(d) and start <= d.started_at < end and d.status != "in_progress"
    ]
    n = len(window)
    bad = sum(d.status in ("failed", "rolled_back") for d in window)
    rework = sum(d.kind in ("rollback", "hotfix") for d in window)
    by_id = {d.id: d for d in deps}
    first: dict[tuple[str, str, str], tuple[datetime, int, DeploymentCommit]] = {}
    for c in commits:
        d = by_id[c.deployment_id]
        if d.status != "success":
            continue
        key = (d.service, d.environment, c.sha)
        if key not in first or (d.started_at, d.id) < first[key][:2]:
            first[key] = (d.started_at, d.id, c)
    leads = sorted(
        (by_id[dep_id].completed_at - c.committed_at).total_seconds()
        for started, dep_id, c in first.values()
        if chosen(by_id[dep_id])
        and start <= started < end
        and by_id[dep_id].completed_at is not None
    )
    if not leads:
        leads = sorted(
            float(d.duration_seconds)
            for d in window
            if d.status == "success" and d.duration_seconds is not None
        )
    restores = sorted(
        (i.resolved_at - i.opened_at).total_seconds()
        for i in incidents
        if i.resolved_at is not None
        and start <= i.resolved_at < end
        and i.environment == environment
        and (service is None or i.service == service)
    )
    lead = percentile(leads, 0.5)
    ttr = percentile(restores, 0.5)
    return Figures(
        frequency=n / days,
        change_failure_rate=bad / n * 100 if n else None,
        lead_time=None if lead is None else round(lead, 3),
        time_to_restore=None if ttr is None else round(ttr, 3),
        rework_rate=rework / n * 100 if n else None,
    )


def _figures(report: dora.DoraReport) -> Figures:
    return Figures(
        frequency=report.deployment_frequency.value or 0.0,
        change_failure_rate=report.change_failure_rate.value,
        lead_time=report.lead_time.value,
        time_to_restore=report.time_to_restore.value,
        rework_rate=report.rework_rate.value,
    )


def _close(a: Figures, b: Figures) -> bool:
    def same(x: float | None, y: float | None) -> bool:
        return (x is None and y is None) or (x is not None and y is not None and abs(x - y) <= 1e-3)

    return all(same(getattr(a, k), getattr(b, k)) for k in Figures.__dataclass_fields__)


CASES = [
    {"days": 30, "environment": "production", "service": None},
    {"days": 7, "environment": "production", "service": None},
    {"days": 90, "environment": "production", "service": "web"},
    {"days": 30, "environment": "staging", "service": None},
]


async def test_incremental_rebuilt_and_recomputed_agree(sessionmaker, settings) -> None:
    async with sessionmaker() as s, s.begin():
        await rebuild.rebuild_async(s, ZONE)  # empty: records the zone
    for seed in (17, 42):
        await _history(sessionmaker, settings, seed)
    async with sessionmaker() as s:
        incremental = await _tables(s)
        reports = {
            (tz, i): _figures(await dora.dora_report(s, now=NOW, tz=tz, **case))
            for tz in (ZONE, "UTC")  # UTC: not the roll-ups' zone, raw rows are read
            for i, case in enumerate(CASES)
        }
        references = [await _reference(s, **case) for case in CASES]
        names = await deployments.names(s)  # the pickers: from the roll-ups, fresh
        stored = list((await s.execute(select(Deployment))).scalars())
    assert names.services == sorted({d.service for d in stored})
    assert names.environments == sorted({d.environment for d in stored})
    assert incremental[0] and incremental[1], "the history left no roll-ups"
    assert all(v is not None for v in vars(references[0]).values()), references[0]
    for (tz, i), got in reports.items():
        assert _close(got, references[i]), (tz, CASES[i], got, references[i])

    async with sessionmaker() as s, s.begin():
        rebuilt_counts = await rebuild.rebuild_async(s, ZONE)
    async with sessionmaker() as s:
        rebuilt = await _tables(s)
        again = {
            i: _figures(await dora.dora_report(s, now=NOW, tz=ZONE, **case))
            for i, case in enumerate(CASES)
        }
    assert rebuilt[0] == incremental[0]
    assert rebuilt[1] == incremental[1]
    assert rebuilt_counts.days == len(rebuilt[0]) and rebuilt_counts.firsts == len(rebuilt[1])
    for i, got in again.items():
        assert got == reports[(ZONE, i)]


async def test_a_redeploy_and_a_rollback_move_the_first_deployment(sessionmaker, settings) -> None:
    """The same commit deployed twice: its lead time counts from the first success;
    when that one turns out rolled back, from the second; deleted, from none."""
    commit = CommitIn(sha="f" * 40, committed_at=NOW - timedelta(days=3))

    def run(external: str, days_ago: int, status: str) -> DeploymentIn:
        started = NOW - timedelta(days=days_ago)
        return DeploymentIn(
            commit_sha="f" * 40,
            started_at=started,
            completed_at=started + timedelta(minutes=10),
            status=status,
            service="web",
            external_id=external,
            commits=[commit],
        )

    async def lead() -> float | None:
        async with sessionmaker() as s:
            return (await dora.dora_report(s, now=NOW)).lead_time.value

    async def record(data: DeploymentIn) -> None:
        async with sessionmaker() as s, s.begin():
            await deployments.record(s, data=data, settings=settings)

    await record(run("b", 1, "success"))
    await record(run("a", 2, "success"))  # registered late: it was the first
    assert await lead() == (1 * 86400 + 600)
    await record(run("a", 2, "rolled_back"))
    assert await lead() == (2 * 86400 + 600)
    async with sessionmaker() as s, s.begin():
        found = await deployments.find_by_external_id(s, external_id="b")
        assert found is not None
        await s.delete(found)
    assert await lead() is None  # no successful deployment left


async def test_dcc_dora_rebuild_puts_the_days_in_the_configured_zone(
    sessionmaker, settings, monkeypatch
) -> None:
    import asyncio

    from typer.testing import CliRunner

    from devops_center.cli import app as cli_app
    from devops_center.deployments.models import RollupState

    # 23:30 UTC on the 20th is already the 21st in Moscow.
    started = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    async with sessionmaker() as s, s.begin():
        await deployments.record(
            s,
            data=DeploymentIn(
                commit_sha="a" * 40,
                started_at=started,
                completed_at=started + timedelta(minutes=5),
                status="success",
                service="web",
            ),
            settings=settings,
        )
    env = {"DATABASE_URL": settings.database_url, "DCC_CONFIG": ""}
    env["DCC_VAR_DIR"] = str(settings.var_dir)
    env["DCC_TIMEZONE"] = "Europe/Moscow"
    done = await asyncio.to_thread(CliRunner().invoke, cli_app, ["dora", "rebuild"], env=env)
    assert done.exit_code == 0, done.output
    assert "days in Europe/Moscow" in done.output
    async with sessionmaker() as s:
        assert await s.scalar(select(RollupState.timezone)) == "Europe/Moscow"
        web = select(DeploymentDay.day).where(DeploymentDay.service == "web")
        (day,) = (await s.execute(web)).scalars()
        assert day.isoformat() == "2026-11-21"
        report = await dora.dora_report(s, now=NOW, tz="Europe/Moscow")
        assert report.stats.total == 1
    bad = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["dora", "rebuild", "--timezone", "Mars/Olympus"], env=env
    )
    assert bad.exit_code == 2 and "unknown time zone" in bad.output


async def test_concurrent_registrations_keep_the_environments_day_exact(
    sessionmaker, settings
) -> None:
    """Forty registrations of twenty services at once, all on one day: each service's
    rows are summed into the environment's day row under a lock taken last; the result
    equals a rebuild (on PostgreSQL they run truly at once; SQLite takes turns)."""
    import asyncio

    async with sessionmaker() as s, s.begin():
        await rebuild.rebuild_async(s, "UTC")
    day = NOW - timedelta(hours=3)

    async def register(i: int) -> None:
        started = day + timedelta(seconds=i * 7)
        data = DeploymentIn(
            commit_sha=SHAS[i % len(SHAS)],
            started_at=started,
            completed_at=started + timedelta(seconds=60 + i),
            status="failed" if i % 5 == 0 else "success",
            service=f"svc-{i % 20}",
            environment="production",
            external_id=f"race-{i}",
            commits=[CommitIn(sha=f"{i + 1000:040x}", committed_at=started - timedelta(hours=i))],
        )
        async with sessionmaker() as s, s.begin():
            await deployments.record(s, data=data, settings=settings)

    await asyncio.gather(*(register(i) for i in range(40)))
    async with sessionmaker() as s:
        incremental = await _tables(s)
    whole = [r for r in incremental[0] if r[0] == rollup_values.ALL_SERVICES]
    # 40 deployments, the 32 successful ones with a lead time each
    assert len(whole) == 1 and whole[0][3] == 40 and len(whole[0][9]) == 32, whole
    async with sessionmaker() as s, s.begin():
        await rebuild.rebuild_async(s, "UTC")
    async with sessionmaker() as s:
        assert await _tables(s) == incremental


async def test_the_days_a_process_keeps_are_fresh_after_every_write(sessionmaker, settings) -> None:
    """A process keeps the roll-up days it parsed (dora.day_cache) and reads only their
    revisions the next time; a late registration, a status change, a deletion and a
    rebuild of past days all show in the very next report."""
    from sqlalchemy import event

    from devops_center.dora import day_cache

    async with sessionmaker() as s, s.begin():
        await rebuild.rebuild_async(s, ZONE)
    await _history(sessionmaker, settings, 23)
    case = {"days": 30, "environment": "production", "service": None}

    async def check() -> list[str]:
        """The report agrees with the raw rows; the statements it ran."""
        seen: list[str] = []
        async with sessionmaker() as s:
            engine = (await s.connection()).engine.sync_engine

            def keep(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
                seen.append(statement)

            event.listen(engine, "before_cursor_execute", keep)
            try:
                got = _figures(await dora.dora_report(s, now=NOW, tz=ZONE, **case))
            finally:
                event.remove(engine, "before_cursor_execute", keep)
            want = await _reference(s, **case)
        assert _close(got, want), (got, want)
        return seen

    def full_rows(statements: list[str]) -> int:
        return sum("deployment_days.leads" in st for st in statements)

    day_cache.DAYS.clear()
    assert full_rows(await check()) > 0  # a cold process reads the rows
    assert full_rows(await check()) == 0  # then only their revisions

    async def record(external: str, days_ago: float, status: str) -> None:
        started = NOW - timedelta(days=days_ago)
        async with sessionmaker() as s, s.begin():
            await deployments.record(
                s,
                data=DeploymentIn(
                    commit_sha="e" * 40,
                    started_at=started,
                    completed_at=started + timedelta(minutes=5),
                    status=status,
                    service="web",
                    external_id=external,
                    commits=[CommitIn(sha="e" * 40, committed_at=started - timedelta(days=40))],
                ),
                settings=settings,
            )

    await record("late", 12.5, "success")  # registered late, into a kept day
    assert full_rows(await check()) == 1  # that one day is read again
    await record("late", 12.5, "rolled_back")
    await check()
    await record("late-2", 20.2, "success")
    async with sessionmaker() as s, s.begin():
        found = await deployments.find_by_external_id(s, external_id="late-2")
        assert found is not None
        await rollups.before_change(s, [found.id])
        await s.execute(delete(Deployment).where(Deployment.id == found.id))
    await check()
    async with sessionmaker() as s, s.begin():
        await rebuild.rebuild_async(s, ZONE)
    assert full_rows(await check()) > 0  # rebuilt rows carry new revisions


def test_a_windows_merged_days_are_reused_only_for_the_very_same_days() -> None:
    from devops_center.dora import day_cache
    from devops_center.dora.samples import Sample

    merged = day_cache.Merged()
    monday = day_cache.kept(1, (2, 0, 2, 0, 0, 0), [30, 10])
    tuesday = day_cache.kept(2, (2, 0, 2, 0, 0, 0), [20, 40])
    first = merged.of([monday.values, tuesday.values])  # type: ignore[list-item]
    assert list(first) == [10, 20, 30, 40]
    assert merged.of([monday.values, tuesday.values]) is first  # type: ignore[list-item]
    # Tuesday read again at a new revision (its values changed): merged anew
    tuesday = day_cache.kept(3, (2, 0, 2, 0, 0, 0), [20, 90])
    assert list(merged.of([monday.values, tuesday.values])) == [10, 20, 30, 90]  # type: ignore[list-item]

    # a percentile over kept days and today's raw values, through the process's merges
    sample = Sample()
    for run in ([1, 5, 9], [2, 6], monday.values, tuesday.values):
        sample.add_sorted(run)  # type: ignore[arg-type]
    assert sample.value(0.5) == percentile(sorted([1, 5, 9, 2, 6, 30, 10, 20, 90]), 0.5) == 9
