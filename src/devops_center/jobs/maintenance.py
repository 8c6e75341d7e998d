"""Housekeeping: old finished jobs and expired key-value entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from devops_center.jobs.registry import JobContext, Periodic, job, periodic
from devops_center.outbox import service as outbox


@job("maintenance.purge")
async def purge(ctx: JobContext, payload: dict[str, Any]) -> None:
    from devops_center.jobs.worker import purge_finished

    await purge_finished(ctx.sessionmaker)
    async with ctx.sessionmaker() as session, session.begin():
        await outbox.purge_expired_kv(session)


periodic(Periodic(kind="maintenance.purge", every=timedelta(hours=1)))
