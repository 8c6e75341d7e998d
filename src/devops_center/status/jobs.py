"""System checks in the background: schedule, probe, record, roll up.

- ``status.schedule`` (every 15 s): enqueue ``status.check`` for each check whose
  interval bucket starts now, with a unique key per (check, bucket), so any number of
  schedulers run each probe once.
- ``status.check`` ``{name}``: probe (outside any transaction), then store the result,
  the state change, the incident and the alert in one transaction.
- ``status.retention`` (hourly): complete hours of results → hourly roll-ups (what the
  uptime query reads), raw results deleted after 7 days, roll-ups after 90 days,
  finished probe jobs after an hour.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.outbox import messages as m
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.outbox.registry import JobContext, Periodic, handles, periodic
from devops_center.status import service as status

log = logging.getLogger("devops_center.status")

SCHEDULE_EVERY = timedelta(seconds=15)
PROBE_JOBS_KEPT = timedelta(hours=1)


async def schedule_checks(
    settings: Settings, session: AsyncSession, *, now: datetime | None = None
) -> int:
    """Enqueue the probes due in the next ``SCHEDULE_EVERY`` (each at its bucket's start)."""
    now = now or utcnow()
    horizon = now + SCHEDULE_EVERY
    added = 0
    for spec in status.check_specs(settings):
        if not spec.configured:
            continue
        first = int(now.timestamp() // spec.interval)
        last = int(horizon.timestamp() // spec.interval)
        for bucket in range(first, last + 1):
            start = datetime.fromtimestamp(bucket * spec.interval, now.tzinfo)
            if bucket != first and start >= horizon:
                continue
            created = await outbox.enqueue(
                session,
                m.RunCheck(name=spec.name),
                unique_key=f"status.check:{spec.name}:{spec.interval}:{bucket}",
                run_after=max(now, start),
                max_attempts=2,
            )
            added += created is not None
    return added


@handles(m.ScheduleChecks)
async def schedule(ctx: JobContext, msg: m.ScheduleChecks) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await schedule_checks(ctx.settings, session)


@handles(m.RunCheck)
async def check(ctx: JobContext, msg: m.RunCheck) -> None:
    name = msg.name
    spec = status.find_spec(ctx.settings, name)
    if spec is None or not spec.configured:
        log.info("status.check: %r is no longer configured; skipped", name)
        return
    result = await status.probe(spec, settings=ctx.settings, sessionmaker=ctx.sessionmaker)
    now = utcnow()
    async with ctx.sessionmaker() as session, session.begin():
        windows = await status.all_windows(session, ctx.settings)
        transition = await status.record_result(
            session,
            spec=spec,
            result=result,
            now=now,
            maintenance=status.in_maintenance(ctx.settings, name, now, windows=windows),
        )
    if transition.old != transition.new:
        log.info("check %s: %s -> %s (%s)", name, transition.old, transition.new, result.message)


@handles(m.StatusRetention)
async def retention(ctx: JobContext, msg: m.StatusRetention) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        intervals = {c.name: c.interval for c in status.check_specs(ctx.settings)}
        folded = await status.roll_up(session, intervals=intervals)
        raw, rollups = await status.purge(session)
        await status.forget_removed_checks(session, ctx.settings)
        await session.execute(
            delete(Job).where(
                Job.kind.in_([m.RunCheck.kind, m.ScheduleChecks.kind]),
                Job.status == "done",
                Job.finished_at < utcnow() - PROBE_JOBS_KEPT,
            )
        )
    if folded or raw or rollups:
        log.info(
            "status retention: %d results rolled up; %d results and %d roll-ups deleted",
            folded,
            raw,
            rollups,
        )


periodic(Periodic(m.ScheduleChecks(), every=SCHEDULE_EVERY))
periodic(Periodic(m.StatusRetention(), every=timedelta(hours=1)))
