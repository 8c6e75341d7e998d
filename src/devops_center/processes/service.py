"""Heartbeats of the processes that use the database.

Every web process (in its lifespan), worker loop and bot runner keeps one row of
``process_heartbeats`` fresh every :data:`HEARTBEAT_EVERY` seconds and deletes it when it
stops cleanly. A process seen within :data:`ALIVE_WITHIN` counts as running: ``dcc
restore`` refuses to replace the database under it, ``dcc status`` and /admin/status list
it, and the bot's status check reads the bot's row. Rows of processes that died without
a clean stop are forgotten after a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center import __version__
from devops_center.db import utcnow
from devops_center.processes.models import PROCESS_KINDS, ProcessHeartbeat

log = logging.getLogger("devops_center.processes")

HEARTBEAT_EVERY = 20.0
ALIVE_WITHIN = timedelta(seconds=45)  # two beats and some slack for a busy database
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Identity:
    """Who beats: the kind of process, where it runs, and since when."""

    kind: str
    host: str
    pid: int
    version: str
    started_at: datetime


def this_process(kind: str) -> Identity:
    if kind not in PROCESS_KINDS:
        raise ValueError(f"unknown process kind {kind!r}")
    return Identity(kind, socket.gethostname()[:255], os.getpid(), __version__, utcnow())


async def beat(session: AsyncSession, *, who: Identity, now: datetime | None = None) -> None:
    """Record that ``who`` is running (inserts its row again if a restore removed it)."""
    seen = now or utcnow()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ProcessHeartbeat).values(
        kind=who.kind,
        host=who.host,
        pid=who.pid,
        version=who.version,
        started_at=who.started_at,
        last_seen_at=seen,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "host", "pid"],
            set_={"last_seen_at": seen, "version": who.version, "started_at": who.started_at},
        )
    )


async def forget(session: AsyncSession, *, who: Identity) -> None:
    await session.execute(
        delete(ProcessHeartbeat).where(
            ProcessHeartbeat.kind == who.kind,
            ProcessHeartbeat.host == who.host,
            ProcessHeartbeat.pid == who.pid,
        )
    )


async def purge_stale(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete the rows of processes not seen for :data:`FORGET_AFTER` (killed, not stopped)."""
    result = await session.execute(
        delete(ProcessHeartbeat).where(
            ProcessHeartbeat.last_seen_at < (now or utcnow()) - FORGET_AFTER
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def alive(session: AsyncSession, *, now: datetime | None = None) -> list[ProcessHeartbeat]:
    """The processes seen within :data:`ALIVE_WITHIN`, by kind, host and pid."""
    since = (now or utcnow()) - ALIVE_WITHIN
    rows = await session.execute(
        select(ProcessHeartbeat)
        .where(ProcessHeartbeat.last_seen_at >= since)
        .order_by(ProcessHeartbeat.kind, ProcessHeartbeat.host, ProcessHeartbeat.pid)
    )
    return list(rows.scalars())


async def last_seen(session: AsyncSession, *, kind: str) -> datetime | None:
    """When a process of ``kind`` last reported (``None``: none is, or none stopped uncleanly)."""
    return await session.scalar(
        select(func.max(ProcessHeartbeat.last_seen_at)).where(ProcessHeartbeat.kind == kind)
    )


def describe(row: ProcessHeartbeat, *, now: datetime | None = None) -> str:
    """One line for the terminal: ``worker pid 4242 on host-a (0.1.0), seen 3 s ago``."""
    seconds = max(0, int(((now or utcnow()) - row.last_seen_at).total_seconds()))
    return f"{row.kind} pid {row.pid} on {row.host} ({row.version}), seen {seconds} s ago"


class Heartbeat:
    """A background task keeping this process's row fresh.

    ``beat = Heartbeat.start(sessionmaker, "worker")`` … ``await beat.stop()``. A failed
    write is logged and retried at the next beat; it never stops the process.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        who: Identity,
        every: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.who = who
        self.every = every
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def start(
        cls,
        sessionmaker: async_sessionmaker[AsyncSession],
        kind: str,
        *,
        every: float = HEARTBEAT_EVERY,
    ) -> Heartbeat:
        heartbeat = cls(sessionmaker, this_process(kind), every)
        heartbeat._task = asyncio.create_task(heartbeat._run(), name=f"heartbeat-{kind}")
        return heartbeat

    async def _run(self) -> None:
        first = True
        while True:
            try:
                async with self.sessionmaker() as session, session.begin():
                    if first:
                        await purge_stale(session)
                    await beat(session, who=self.who)
                first = False
            except Exception as exc:  # the database may be down or not migrated yet
                log.warning("writing the %s heartbeat failed: %r", self.who.kind, exc)
            await asyncio.sleep(self.every)

    async def stop(self) -> None:
        """Stop beating and delete the row: this process no longer uses the database."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with asyncio.timeout(5), self.sessionmaker() as session, session.begin():
                await forget(session, who=self.who)
        except Exception as exc:
            log.warning("removing the %s heartbeat failed: %r", self.who.kind, exc)
