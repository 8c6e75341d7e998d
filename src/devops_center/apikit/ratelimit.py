"""Per-client request limits of the JSON API: a fixed window counted in the database.

One upsert per request, in a transaction of its own, counts the request and returns the
count: the limit holds across every web process and machine (nothing kept in memory).
The figures go out as the ``RateLimit-Limit`` / ``RateLimit-Remaining`` /
``RateLimit-Reset`` headers (draft-ietf-httpapi-ratelimit-headers) and, once spent, as
429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.apikit.models import RateWindow

WINDOW = 60  # seconds


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # seconds until the window ends
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={WINDOW}",
        }


async def hit(
    session: AsyncSession, *, client: str, limit: int, now: float | None = None
) -> RateState:
    """Count one request of ``client``; ``allowed`` is False once over ``limit``."""
    now = time.time() if now is None else now
    start = int(now // WINDOW * WINDOW)
    t = RateWindow.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(RateWindow)
        .values(client=client[:100], window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=[t.c.client],
            set_={
                "count": case((t.c.window_start == start, t.c.count + 1), else_=1),
                "window_start": start,
            },
        )
        .returning(t.c.count)
    )
    count = int((await session.execute(stmt)).scalar_one())
    reset = max(1, math.ceil(start + WINDOW - now))
    return RateState(
        limit=limit, remaining=max(0, limit - count), reset=reset, allowed=count <= limit
    )


async def purge(session: AsyncSession, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    result = await session.execute(
        delete(RateWindow).where(RateWindow.window_start < int(now) - 2 * WINDOW)
    )
    return int(getattr(result, "rowcount", 0) or 0)
