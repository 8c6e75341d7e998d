"""Support brain jobs: keep the brain's documents in step with what they index.

``brain.index`` (:class:`~devops_center.outbox.messages.IndexBrainDocument`): (re)embed
one FAQ entry, bug or changelog entry, or drop its document when it is gone.
``brain.reindex`` (:class:`~devops_center.outbox.messages.ReindexBrain`): every one (what
``dcc brain reindex`` does), e.g. after DCC_EMBEDDING_MODEL changed. Both are safe to run
twice: an unchanged text under the same model is not re-embedded.
"""

from __future__ import annotations

from datetime import timedelta

from devops_center.brain import index
from devops_center.outbox import messages as m
from devops_center.outbox.registry import JobContext, Periodic, handles, periodic


@handles(m.IndexBrainDocument)
async def index_one(ctx: JobContext, msg: m.IndexBrainDocument) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await index.index_source(
            session, msg.source, msg.source_id, model=ctx.settings.embedding_model
        )


@handles(m.ReindexBrain)
async def reindex(ctx: JobContext, msg: m.ReindexBrain) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await index.reindex_faq(session, model=ctx.settings.embedding_model)
        await index.reindex_others(session, model=ctx.settings.embedding_model)


@handles(m.IndexPendingChangelog)
async def catch_up(ctx: JobContext, msg: m.IndexPendingChangelog) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await index.index_pending_changelog(session, model=ctx.settings.embedding_model)


periodic(Periodic(m.IndexPendingChangelog(), every=timedelta(minutes=10)))
