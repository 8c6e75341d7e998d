"""api.purge: idempotency records go after a day, spent rate windows after two minutes."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from devops_center import worker
from devops_center.apikit import idempotency, ratelimit
from devops_center.apikit.models import IdempotencyRecord, RateWindow
from devops_center.db import utcnow
from devops_center.outbox import messages
from devops_center.outbox import service as outbox


async def test_the_purge_job_keeps_only_live_state(settings: Any, sessionmaker: Any) -> None:
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        old = await idempotency.claim(
            s, client="c", key="old", fingerprint="f", now=now - timedelta(hours=25)
        )
        new = await idempotency.claim(s, client="c", key="new", fingerprint="f", now=now)
        assert old.outcome == new.outcome == "proceed"
        await ratelimit.hit(s, client="token:1", limit=5, now=time.time() - 600)
        await ratelimit.hit(s, client="token:2", limit=5)
        await outbox.enqueue(s, messages.PurgeApiState())
    await worker.drain(settings, sessionmaker)
    async with sessionmaker() as s:
        keys = list((await s.execute(select(IdempotencyRecord.key))).scalars())
        windows = await s.scalar(select(func.count()).select_from(RateWindow))
    assert keys == ["new"] and windows == 1


async def test_a_stale_claim_is_taken_over_once(sessionmaker: Any) -> None:
    """A request that died holding its key: after STALE_AFTER one retry may run."""
    start = utcnow() - idempotency.STALE_AFTER - timedelta(seconds=1)
    async with sessionmaker() as s, s.begin():
        first = await idempotency.claim(s, client="c", key="k", fingerprint="f", now=start)
    assert first.outcome == "proceed"
    async with sessionmaker() as s, s.begin():
        taken = await idempotency.claim(s, client="c", key="k", fingerprint="f")
    async with sessionmaker() as s, s.begin():
        second = await idempotency.claim(s, client="c", key="k", fingerprint="f")
    assert (taken.outcome, second.outcome) == ("proceed", "in_progress")
