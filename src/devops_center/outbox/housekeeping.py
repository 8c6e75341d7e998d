"""Housekeeping: old finished jobs and expired cache entries."""

from __future__ import annotations

from datetime import timedelta

from devops_center import cache
from devops_center.outbox import messages as m
from devops_center.outbox import service as outbox
from devops_center.outbox.registry import JobContext, Periodic, handles, periodic


@handles(m.Purge)
async def purge(ctx: JobContext, msg: m.Purge) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await outbox.purge_finished(session)
        await cache.purge_expired(session)


periodic(Periodic(m.Purge(), every=timedelta(hours=1)))
