"""The support brain's one search: embeddings + full text + typo tolerance, fused.

:func:`search` is what the FAQ page, the bot and the API call. Three ranked lists of
FAQ entries are fused with reciprocal rank fusion (score = Σ wᵢ / (K + rankᵢ)):

1. **meaning** — cosine similarity of the query's embedding to every entry's question
   (the in-memory matrix of :mod:`devops_center.brain.index`), any language;
2. **words** — the full-text index (SQLite FTS5 / PostgreSQL tsvector, stemming, every
   word a prefix) with ANY of the query's content words, best bm25 first;
3. the same full-text search with the query's unknown words replaced by their closest
   dictionary word (one or two edits) — typo tolerance.

An entry and its translation count as one result, shown in the reader's language when
that translation exists. ``confident`` says whether the first result likely answers the
question: see :func:`is_confident` (thresholds calibrated on bench/brain_eval.json).
Without an embedding model the first list is missing and search is lexical.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.brain import embedder as models
from devops_center.brain import index
from devops_center.brain import text as textutil
from devops_center.support import search as fts
from devops_center.support.models import FaqEntry, FaqTranslation

RRF_K = 60
WEIGHTS = {"dense": 1.0, "all": 1.0, "any": 0.0}
POOL = 50  # candidates taken from each list
QUERY_MAX = 500

# Calibrated on the calibration half of bench/brain_eval.json (bench/brain.py --calibrate);
# the held-out half checks them.
CONFIDENT_COSINE = 0.40  # the first result's cosine similarity ...
CONFIDENT_GAP = 0.09  # ... and its lead over the next result's
CONFIDENT_COSINE_WITH_WORDS = 0.0  # or every query word found in it (and this cosine)
# Beyond the first three results (a page: from the first), an entry is listed only if
# related: holding the query's words, or close in meaning — at least RELATED_COSINE and
# within RELATED_GAP of the closest entry (the dense list always has 50 candidates;
# unrelated questions score 0.30-0.45 against a query whose answer scores 0.8).
ALWAYS_SHOWN = 3
RELATED_COSINE = 0.30
RELATED_GAP = 0.25

_model = models.DEFAULT_MODEL


def configure(model: str) -> None:
    """Set the process's embedding model (``Settings.embedding_model``) at start-up."""
    global _model
    _model = model


async def index_faq(session: AsyncSession, faq_id: int, *, model: str | None = None) -> bool:
    """Bring one FAQ entry's document up to date (after create, edit or delete), in the
    caller's transaction, with the configured model. True when something was written."""
    return await index.index_faq(session, faq_id, model=model or _model)


async def reindex(
    session: AsyncSession,
    *,
    model: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> index.ReindexReport:
    """Every FAQ entry's document brought up to date (see ``index.reindex_faq``)."""
    return await index.reindex_faq(session, model=model or _model, progress=progress)


def status(model: str | None = None) -> models.Status:
    """What search runs on here (for the dashboard)."""
    return models.status(model or _model)


@dataclass(frozen=True)
class SearchItem:
    id: int
    question: str
    answer: str
    category: str
    language: str
    score: float
    views_count: int = 0
    helpful_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "category": self.category,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class SearchResult:
    items: list[SearchItem]
    confident: bool
    mode: str  # "hybrid" (a model is loaded) or "lexical"
    signals: dict[int, dict[str, float]] = field(default_factory=dict, compare=False)
    vector: Any = field(default=None, compare=False, repr=False)  # the query's embedding
    corpus: Any = field(default=None, compare=False, repr=False)  # what it was searched in

    def as_dict(self) -> dict[str, Any]:
        return {"items": [i.as_dict() for i in self.items], "confident": self.confident}


def is_confident(signals: dict[str, float], *, hybrid: bool) -> bool:
    """Whether the first result likely answers the question.

    With a model: its question is close in meaning to the query (cosine) and clearly
    closer than any other entry's (gap) — a question the FAQ does not answer tends to
    be about as close to several entries; or the entry contains every content word of
    the query (typos corrected). Lexical only: that last rule alone.
    """
    all_words = signals.get("all_words", 0.0) > 0
    if not hybrid:
        return all_words
    cosine = signals.get("cosine", 0.0)
    return (cosine >= CONFIDENT_COSINE and signals.get("gap", 0.0) >= CONFIDENT_GAP) or (
        all_words and cosine >= CONFIDENT_COSINE_WITH_WORDS
    )


# How votes and views move an entry (a bounded multiplier of its fused score):
# helpful minus not helpful over all votes (+5 as a prior, so three votes move little)
# up to ±5 %, and views up to +2 % (log scale: 1,000 views = full). Adjacent ranks of
# one list differ by ~1.6 % in RRF, so a well-liked entry overtakes a near tie (about
# two places in one list), never an entry that both lists put clearly ahead.
VOTE_BOOST = 0.05
VIEW_BOOST = 0.02


def popularity_boost(helpful: int, not_helpful: int, views: int) -> float:
    """The multiplier (0.95 … 1.07) applied to an entry's fused score."""
    votes = VOTE_BOOST * (helpful - not_helpful) / (helpful + not_helpful + 5)
    seen = VIEW_BOOST * min(1.0, math.log10(1 + max(0, views)) / 3)
    return 1.0 + votes + seen


def _rrf(ranked: Sequence[int], weight: float, scores: dict[int, float]) -> None:
    for rank, key in enumerate(ranked, start=1):
        scores[key] += weight / (RRF_K + rank)


async def search(
    session: AsyncSession,
    query: str,
    *,
    language: str,
    category: str | None = None,
    limit: int = 5,
    kinds: Sequence[str] = ("faq",),
    model: str | None = None,
    related_only: bool = False,
) -> SearchResult:
    """FAQ entries answering ``query`` (any language), best first, and whether the first
    one is a confident answer. ``language`` is the reader's: an entry with a translation
    in it is shown in it. ``category`` keeps the entries of that category only.
    ``related_only``: list only entries close in meaning or holding the query's words
    (a page listing results); otherwise the first three are always there (the API)."""
    if tuple(kinds) != ("faq",):
        raise ValueError("only kinds=('faq',) is searched so far")
    query = " ".join((query or "").split())[:QUERY_MAX]
    limit = max(1, min(limit, 50))
    model = model or _model
    corpus = await index.corpus(session, model=model)
    embedder = await index.load(model) if corpus.matrix is not None else None
    hybrid = embedder is not None
    if not textutil.words(query):
        return SearchResult([], False, "hybrid" if hybrid else "lexical", corpus=corpus)

    pool = POOL * (4 if category else 1)
    cosine: dict[int, float] = {}
    dense: list[int] = []
    vector = None
    if embedder is not None:
        vector = embedder.queries([query])[0]
        for doc, value in corpus.nearest(vector, pool * 2):
            if corpus.kinds[doc] != "faq":
                continue
            source = corpus.source_ids[doc]
            cosine[source] = value
            dense.append(source)
            if len(dense) >= pool:
                break

    content = textutil.content_words(query) or textutil.words(query)[:8]
    fixes = textutil.corrections(content, corpus.vocab, corpus.choices)
    # every content word (a typo replaced by its correction) in one entry
    strict = [fixes.get(w, w) for w in content]
    all_ranked = await fts.all_words_ids(session, words=strict, limit=pool)
    # any of them (the words as typed and their corrections): without a model only
    any_ranked: list[int] = []
    if not hybrid or WEIGHTS["any"]:
        any_ranked = await fts.any_word_ids(
            session, words=content + list(fixes.values()), limit=pool, category=category
        )
    all_words = set(all_ranked)
    lexical = all_words | set(any_ranked)
    ids = set(dense) | set(all_ranked) | set(any_ranked)
    if not ids:
        return SearchResult(
            [], False, "hybrid" if hybrid else "lexical", vector=vector, corpus=corpus
        )
    meta, group_of = await _candidates(session, ids)

    # the best cosine of each group, for the gap between the first and the second
    group_cosine: dict[int, float] = defaultdict(float)
    for source, value in cosine.items():
        if source in group_of:
            group_cosine[group_of[source]] = max(group_cosine[group_of[source]], value)
    scores: dict[int, float] = defaultdict(float)
    for name, ranked in (("dense", dense), ("all", all_ranked), ("any", any_ranked)):
        seen: list[int] = []
        for source in ranked:
            group = group_of.get(source)
            if group is not None and group not in seen:
                seen.append(group)
        _rrf(seen, WEIGHTS[name], scores)

    popularity: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for faq_id, (_lang, _cat, helpful, not_helpful, views) in meta.items():
        totals = popularity[group_of[faq_id]]
        totals[0] += helpful
        totals[1] += not_helpful
        totals[2] += views
    for group in scores:
        scores[group] *= popularity_boost(*popularity[group])

    # 1 = first in every list with the largest popularity boost: scores stay distinct
    # (clipping a boosted score to 1 made several results "1.0" alike)
    lists = (("dense", dense), ("all", all_ranked), ("any", any_ranked))
    best_max = sum(WEIGHTS[n] for n, r in lists if r) or 1.0
    best_max = best_max / (RRF_K + 1) * (1.0 + VOTE_BOOST + VIEW_BOOST)
    members: dict[int, list[int]] = defaultdict(list)
    for faq_id in sorted(meta):
        members[group_of[faq_id]].append(faq_id)

    top_cosine = max(group_cosine.values(), default=0.0)
    chosen: list[tuple[int, float]] = []  # (shown entry, fused score)
    signals: dict[int, dict[str, float]] = {}
    for group, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        rows = members.get(group, [])
        shown = next((i for i in rows if meta[i][0] == language), None) or next(
            (i for i in rows if i in ids), None
        )
        if shown is None or (category and meta[shown][1] != category):
            continue
        closeness = group_cosine.get(group, 0.0)
        related = (closeness >= max(RELATED_COSINE, top_cosine - RELATED_GAP)) or any(
            i in lexical for i in rows
        )
        if len(chosen) >= (0 if related_only else ALWAYS_SHOWN) and hybrid and not related:
            continue
        chosen.append((shown, score))
        others = [v for g, v in group_cosine.items() if g != group]
        signals[shown] = {
            "cosine": group_cosine.get(group, 0.0),
            "gap": group_cosine.get(group, 0.0) - max(others, default=0.0),
            "all_words": float(any(i in all_words for i in rows)),
            "rrf": score,
        }
        if len(chosen) >= limit:
            break
    texts = {
        row.id: row
        for row in await session.execute(
            select(
                FaqEntry.id,
                FaqEntry.question,
                FaqEntry.answer,
                FaqEntry.category,
                FaqEntry.language,
                FaqEntry.views_count,
                FaqEntry.helpful_count,
            ).where(FaqEntry.id.in_([i for i, _s in chosen]))
        )
    }
    items = [
        SearchItem(
            id=i,
            question=texts[i].question,
            answer=texts[i].answer,
            category=texts[i].category,
            language=texts[i].language,
            score=min(1.0, score / best_max),
            views_count=texts[i].views_count,
            helpful_count=texts[i].helpful_count,
        )
        for i, score in chosen
        if i in texts  # deleted meanwhile
    ]
    confident = bool(items) and is_confident(signals[items[0].id], hybrid=hybrid)
    return SearchResult(
        items, confident, "hybrid" if hybrid else "lexical", signals, vector, corpus
    )


Meta = tuple[str, str, int, int, int]  # language, category, helpful, not helpful, views


async def _candidates(
    session: AsyncSession, ids: set[int]
) -> tuple[dict[int, Meta], dict[int, int]]:
    """``(language, category, helpful, not helpful, views)`` of the entries ``ids`` and of
    their translations, and each one's group (the id of the original of its pair, or its
    own id). Columns only: the texts are read for the results shown."""
    pairs = (
        await session.execute(
            select(FaqTranslation.original_id, FaqTranslation.translation_id).where(
                or_(FaqTranslation.original_id.in_(ids), FaqTranslation.translation_id.in_(ids))
            )
        )
    ).all()
    group = {t: o for o, t in pairs} | {o: o for o, _t in pairs}
    rows = await session.execute(
        select(
            FaqEntry.id,
            FaqEntry.language,
            FaqEntry.category,
            FaqEntry.helpful_count,
            FaqEntry.not_helpful_count,
            FaqEntry.views_count,
        ).where(FaqEntry.id.in_(ids | set(group)))
    )
    meta = {faq_id: (lang, cat, h, n, v) for faq_id, lang, cat, h, n, v in rows}
    return meta, {i: group.get(i, i) for i in meta}
