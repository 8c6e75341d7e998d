"""``Idempotency-Key`` on POST: a retried request gets the first one's response.

A request with a key first *claims* it in a short transaction of its own (one insert
that only one of any number of concurrent requests can win). The winner runs; its
response is then stored with the claim, and every later request with the same key and
the same content gets that response back. A request that arrives while the first one
still runs is told so (409, retry shortly) instead of running twice; the same key with
different content is refused (422). A claim whose request died (a crash between the
work and storing the answer) is taken over after :data:`STALE_AFTER`; filing a bug is
protected against that window too (the key becomes the report's form token). Records
are kept :data:`KEEP`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.apikit.models import IdempotencyRecord
from devops_center.db import utcnow

STALE_AFTER = timedelta(minutes=2)
KEEP = timedelta(hours=24)
MAX_BODY = 1024 * 1024  # a larger answer is not kept (the key is released instead)

Outcome = Literal["proceed", "replay", "in_progress", "mismatch"]


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    record_id: int | None = None
    status_code: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


async def claim(
    session: AsyncSession,
    *,
    client: str,
    key: str,
    fingerprint: str,
    now: datetime | None = None,
) -> Claim:
    """Claim ``key`` for ``client`` (commit at once: concurrent requests must see it)."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(IdempotencyRecord)
        .values(
            client=client,
            key=key,
            fingerprint=fingerprint,
            state="pending",
            created_at=now,
            claimed_at=now,
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is not None:
        return Claim("proceed", new_id)
    row = await session.scalar(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.client == client, IdempotencyRecord.key == key)
        .with_for_update()
    )
    if row is None:  # purged in between: the caller may simply try again
        return Claim("in_progress")
    if row.created_at < now - KEEP:  # expired, not purged yet: a fresh start
        row.fingerprint, row.state = fingerprint, "pending"
        row.created_at = row.claimed_at = now
        row.status_code, row.headers, row.body = None, None, None
        return Claim("proceed", row.id)
    if row.fingerprint != fingerprint:
        return Claim("mismatch", row.id)
    if row.state == "done":
        headers = [(str(k), str(v)) for k, v in json.loads(row.headers or "[]")]
        return Claim("replay", row.id, row.status_code or 200, headers, row.body or b"")
    if row.claimed_at < now - STALE_AFTER:
        taken = await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == row.id, IdempotencyRecord.claimed_at == row.claimed_at)
            .values(claimed_at=now)
        )
        if getattr(taken, "rowcount", 0) == 1:
            return Claim("proceed", row.id)
    return Claim("in_progress", row.id)


async def complete(
    session: AsyncSession,
    *,
    record_id: int,
    status_code: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    """Keep the first request's response for its retries."""
    if len(body) > MAX_BODY:
        await release(session, record_id=record_id)
        return
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(
            state="done",
            status_code=status_code,
            headers=json.dumps(headers),
            body=body,
        )
    )


async def release(session: AsyncSession, *, record_id: int) -> None:
    """The request failed in a way worth retrying (5xx, 401, 429): forget the claim."""
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.state == "pending"
        )
    )


async def purge(session: AsyncSession, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - KEEP)
    )
    return int(getattr(result, "rowcount", 0) or 0)
