"""Housekeeping of sign-in state: ended web sessions and forgotten login throttle keys.

- ``users.purge_sessions`` {} — hourly: delete sessions past their idle timeout or
  absolute lifetime, throttle keys that have forgotten their failures, and used Mini App
  initData too old to be accepted anyway.
"""

from __future__ import annotations

from datetime import timedelta

from devops_center.outbox import messages as m
from devops_center.outbox.registry import JobContext, Periodic, handles, periodic
from devops_center.users import sessions as user_sessions
from devops_center.users import telegram_webapp, throttle


@handles(m.PurgeSessions)
async def purge_sessions(ctx: JobContext, msg: m.PurgeSessions) -> None:
    policy = user_sessions.SessionPolicy.from_settings(ctx.settings)
    async with ctx.sessionmaker() as session, session.begin():
        await user_sessions.purge(session, policy=policy)
        await throttle.purge(
            session, policy=throttle.LoginPolicy(max_failures=ctx.settings.login_max_failures)
        )
        await telegram_webapp.purge(session)


periodic(Periodic(m.PurgeSessions(), every=timedelta(hours=1)))
