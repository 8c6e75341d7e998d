"""Likely duplicates of a bug: the open bugs closest in meaning, for triage.

The bug's text (title + what happened, as indexed) is embedded and compared with every
bug's document; open and in-progress bugs at least ``DUPLICATE_COSINE`` close are
listed with the score, best first. Bugs already merged into another are left out. The
owner merges with ``support.duplicates.merge``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.brain import index
from devops_center.support.models import BugDuplicate, BugLog

DUPLICATE_COSINE = 0.5
SHOWN = 5


@dataclass(frozen=True)
class Candidate:
    bug: BugLog
    score: float  # cosine similarity, 0–1


async def likely(
    session: AsyncSession, bug_id: int, *, model: str, limit: int = SHOWN
) -> list[Candidate]:
    bug = await session.get(BugLog, bug_id)
    embedder = await index.load(model)
    if bug is None or embedder is None:
        return []
    corpus = await index.corpus(session, model=model)
    vector = embedder.documents([index.bug_text(bug)])[0]
    scores: dict[int, float] = {}
    for doc, cosine in corpus.nearest(vector, 100):
        if cosine < DUPLICATE_COSINE:
            break
        if corpus.kinds[doc] == "bug" and corpus.source_ids[doc] != bug_id:
            scores.setdefault(corpus.source_ids[doc], cosine)
    if not scores:
        return []
    merged = set(
        await session.scalars(
            select(BugDuplicate.bug_id).where(BugDuplicate.bug_id.in_(list(scores)))
        )
    )
    rows = await session.scalars(
        select(BugLog).where(
            BugLog.id.in_([i for i in scores if i not in merged]),
            BugLog.status.in_(("open", "in_progress")),
        )
    )
    found = [Candidate(b, scores[b.id]) for b in rows]
    found.sort(key=lambda c: (-c.score, c.bug.id))
    return found[:limit]
