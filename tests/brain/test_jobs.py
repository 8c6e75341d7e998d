"""brain.index / brain.reindex through the worker, as a service that cannot import the
brain enqueues them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from devops_center import worker
from devops_center.brain import service as brain
from devops_center.brain.models import BrainDocument
from devops_center.outbox import messages as m
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support import service as support
from devops_center.support.models import FaqEntry, FaqTranslation


async def test_index_and_reindex_jobs(settings: Any, sessionmaker: Any, model: str) -> None:
    async with sessionmaker() as s, s.begin():
        entry = await support.create_faq(
            s, data=support.FaqInput("Pay", "When is payday?", "On the 5th.", "en"), actor_id=None
        )
        # create_faq itself enqueues the entry's brain.index
        job = await outbox.enqueue(s, m.IndexBrainDocument(source_id=entry.id + 1))  # no entry
        assert job is not None and job.payload == {"source_id": entry.id + 1}
    assert await worker.drain(settings, sessionmaker, kinds=["brain.index"]) == 2
    async with sessionmaker() as s:
        doc = (await s.execute(select(BrainDocument))).scalar_one()
        statuses = sorted((await s.scalars(select(Job.status))).all())
    assert (doc.source_id, doc.model, doc.text) == (entry.id, model, "When is payday?")
    assert statuses == ["done", "done"]  # a missing entry: nothing to index, done

    async with sessionmaker() as s, s.begin():
        await support.delete_faq(s, faq_id=entry.id, actor_id=None)
        await outbox.enqueue(s, m.ReindexBrain())
    assert await worker.drain(settings, sessionmaker, kinds=["brain.reindex"]) == 1
    async with sessionmaker() as s:
        assert (await s.execute(select(BrainDocument))).first() is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_demo_faq_is_paired_and_indexed_by_the_worker(
    settings: Any, sessionmaker: Any, model: str
) -> None:
    from devops_center.cli import demo_data

    await demo_data.load(settings)
    assert await worker.drain(settings, sessionmaker, kinds=["brain.reindex"]) == 1
    async with sessionmaker() as s:
        entries = await s.scalar(select(func.count()).select_from(FaqEntry))
        pairs = await s.scalar(select(func.count()).select_from(FaqTranslation))
        docs = await s.scalar(
            select(func.count()).select_from(BrainDocument).where(BrainDocument.kind == "faq")
        )
        others = await s.scalar(
            select(func.count()).select_from(BrainDocument).where(BrainDocument.kind != "faq")
        )
        found = await brain.search(s, "I forgot my password", language="ru")
    assert docs == entries and pairs * 2 == entries
    assert others  # the demo's bugs (and changelog entries) are in the brain too
    assert found.items[0].question == "Я забыл пароль. Что делать?" and found.confident
