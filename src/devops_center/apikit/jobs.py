"""The API state's housekeeping job (hourly)."""

from __future__ import annotations

from datetime import timedelta

from devops_center.apikit import idempotency, ratelimit
from devops_center.outbox import messages as m
from devops_center.outbox.registry import JobContext, Periodic, handles, periodic


@handles(m.PurgeApiState)
async def purge_api_state(ctx: JobContext, msg: m.PurgeApiState) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await idempotency.purge(session)
        await ratelimit.purge(session)


periodic(Periodic(m.PurgeApiState(), every=timedelta(hours=1)))
