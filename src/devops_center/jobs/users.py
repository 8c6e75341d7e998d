"""Housekeeping of sign-in state: ended web sessions and forgotten login throttle keys.

- ``users.purge_sessions`` {} — hourly: delete sessions past their idle timeout or
  absolute lifetime, and throttle keys that have forgotten their failures.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from devops_center.jobs.registry import JobContext, Periodic, job, periodic
from devops_center.users import sessions as user_sessions
from devops_center.users import throttle


@job("users.purge_sessions")
async def purge_sessions(ctx: JobContext, payload: dict[str, Any]) -> None:
    policy = user_sessions.SessionPolicy.from_settings(ctx.settings)
    async with ctx.sessionmaker() as session, session.begin():
        await user_sessions.purge(session, policy=policy)
        await throttle.purge(
            session, policy=throttle.LoginPolicy(max_failures=ctx.settings.login_max_failures)
        )


periodic(Periodic(kind="users.purge_sessions", every=timedelta(hours=1)))
