"""Writing documents (text + vector) and the per-process matrix searched in memory.

Every write to ``brain_documents`` sets a new ``brain_state.revision`` in the same
transaction. A process keeps one :class:`Corpus` per database and model (the vectors as
one float32 matrix, the word dictionary for typo correction) and reloads it when the
revision in the database differs from the one it loaded. The revision is read before
the documents, so a corpus is never labelled newer than what it holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.brain import embedder as models
from devops_center.brain import text as textutil
from devops_center.brain.models import BrainDocument, BrainState
from devops_center.db import utcnow
from devops_center.deployments.models import ChangelogEntry
from devops_center.support.faq_io import detect_language
from devops_center.support.models import BugLog, FaqEntry

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from devops_center.brain.embedder import Embedder

STATE_ID = 1


def faq_text(entry: FaqEntry) -> str:
    """What an FAQ entry is embedded as: its question (measured better than question +
    answer for questions; the answer is still searched by the full-text index)."""
    return entry.question.strip()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def bump(session: AsyncSession) -> str:
    """A new revision for the brain's documents, written in the caller's transaction."""
    revision = secrets.token_hex(16)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(BrainState).values(id=STATE_ID, revision=revision, updated_at=utcnow())
    stmt = stmt.on_conflict_do_update(
        index_elements=[BrainState.id],
        set_={"revision": stmt.excluded.revision, "updated_at": stmt.excluded.updated_at},
    )
    await session.execute(stmt)
    return revision


async def current_revision(session: AsyncSession) -> str:
    return (
        await session.scalar(select(BrainState.revision).where(BrainState.id == STATE_ID))
    ) or ""


def _vector_bytes(row: NDArray[np.float32]) -> bytes:
    import numpy as np

    return np.ascontiguousarray(row, dtype="<f4").tobytes()


async def _embed(embedder: Embedder, texts: list[str]) -> NDArray[np.float32]:
    if len(texts) <= 4:
        return embedder.documents(texts)  # a few ms: not worth a thread hop
    return await asyncio.to_thread(embedder.documents, texts)


async def upsert(
    session: AsyncSession,
    *,
    kind: str,
    source_id: int,
    language: str,
    text: str,
    model: str,
) -> bool:
    """Store one document; embed it when its text or the model changed. True if written."""
    return bool(await upsert_many(session, [(kind, source_id, language, text)], model=model))


async def upsert_many(
    session: AsyncSession,
    docs: Sequence[tuple[str, int, str, str]],
    *,
    model: str,
) -> int:
    """Store documents ``(kind, source_id, language, text)``; returns how many changed.

    A document whose text and model are those stored is left alone; the others are
    embedded in one batch (when the model is available) and written with a new revision.
    """
    if not docs:
        return 0
    model_name = model if models.status(model).available else None
    keys = {(kind, source_id) for kind, source_id, _l, _t in docs}
    existing: dict[tuple[str, int], BrainDocument] = {}
    for kind in {k for k, _s in keys}:
        ids = [s for k, s in keys if k == kind]
        for start in range(0, len(ids), 500):
            rows = await session.scalars(
                select(BrainDocument).where(
                    BrainDocument.kind == kind,
                    BrainDocument.source_id.in_(ids[start : start + 500]),
                )
            )
            existing.update({(d.kind, d.source_id): d for d in rows})
    changed: list[tuple[BrainDocument, str]] = []
    for kind, source_id, language, text in docs:
        digest = text_hash(text)
        doc = existing.get((kind, source_id))
        if doc is not None and doc.text_hash == digest and doc.model == model_name:
            if doc.language != language:
                doc.language = language
                changed.append((doc, text))
            continue
        if doc is None:
            doc = BrainDocument(kind=kind, source_id=source_id)
            session.add(doc)
            existing[(kind, source_id)] = doc
        doc.language, doc.text, doc.text_hash, doc.model = language, text, digest, model_name
        doc.vector = None
        doc.updated_at = utcnow()
        changed.append((doc, text))
    if not changed:
        return 0
    embedder = await load(model) if model_name else None
    if embedder is not None:
        to_embed = [(d, t) for d, t in changed if d.vector is None]
        vectors = await _embed(embedder, [t for _d, t in to_embed])
        for (doc, _t), row in zip(to_embed, vectors, strict=True):
            doc.vector = _vector_bytes(row)
    await session.flush()
    await bump(session)
    return len(changed)


async def remove(session: AsyncSession, *, kind: str, source_ids: Sequence[int]) -> int:
    """Forget the documents of sources that no longer exist."""
    if not source_ids:
        return 0
    result = await session.execute(
        delete(BrainDocument).where(
            BrainDocument.kind == kind, BrainDocument.source_id.in_(list(source_ids))
        )
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        await bump(session)
    return count


async def load(model: str) -> Embedder | None:
    """The model, loaded in a worker thread the first time (a few seconds)."""
    if models.loaded(model):
        return models.get(model)
    return await asyncio.to_thread(models.get, model)


# ------------------------------------------------------------------ FAQ documents


async def index_faq(session: AsyncSession, faq_id: int, *, model: str) -> bool:
    """Bring the brain's document of one FAQ entry up to date (or drop it if the entry
    is gone). Call it in the transaction that created or edited the entry."""
    entry = await session.get(FaqEntry, faq_id)
    if entry is None:
        return bool(await remove(session, kind="faq", source_ids=[faq_id]))
    return await upsert(
        session,
        kind="faq",
        source_id=entry.id,
        language=entry.language,
        text=faq_text(entry),
        model=model,
    )


@dataclass
class ReindexReport:
    total: int = 0
    embedded: int = 0
    removed: int = 0
    model: str | None = None


async def reindex_faq(
    session: AsyncSession,
    *,
    model: str,
    batch: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> ReindexReport:
    """Every FAQ entry's document brought up to date; documents of deleted entries dropped.

    ``progress(done, total)`` is called after every batch (the CLI draws a bar with it).
    Entries whose text and model did not change cost one hash each.
    """
    report = ReindexReport(model=model if models.status(model).available else None)
    rows = (await session.execute(select(FaqEntry.id, FaqEntry.language, FaqEntry.question))).all()
    report.total = len(rows)
    live = {r.id for r in rows}
    stored = set(
        await session.scalars(select(BrainDocument.source_id).where(BrainDocument.kind == "faq"))
    )
    report.removed = await remove(session, kind="faq", source_ids=sorted(stored - live))
    done = 0
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        report.embedded += await upsert_many(
            session,
            [("faq", r.id, r.language, r.question.strip()) for r in chunk],
            model=model,
        )
        done += len(chunk)
        if progress:
            progress(done, report.total)
    return report


# ------------------------------------------------------- bugs and changelog entries


def bug_text(bug: BugLog) -> str:
    """What a bug is matched by: its title and what happened. Only ever compared, never
    shown to anyone but its reporter and the admins."""
    return f"{bug.title.strip()}\n{bug.actual.strip()[:1000]}"


def changelog_text(entry: ChangelogEntry) -> str:
    return " ".join(p for p in (entry.component or "", entry.description.strip()) if p)[:2000]


async def index_bug(session: AsyncSession, bug_id: int, *, model: str) -> bool:
    """The brain's document of one bug (after it is filed), or none when it is gone."""
    bug = await session.get(BugLog, bug_id)
    if bug is None:
        return bool(await remove(session, kind="bug", source_ids=[bug_id]))
    text = bug_text(bug)
    return await upsert(
        session,
        kind="bug",
        source_id=bug.id,
        language=detect_language(text),
        text=text,
        model=model,
    )


async def index_changelog(session: AsyncSession, entry_id: int, *, model: str) -> bool:
    """The brain's document of one changelog entry; sets its ``indexed_in_brain`` once it
    carries a vector of ``model`` (stays false while no model is installed)."""
    entry = await session.get(ChangelogEntry, entry_id)
    if entry is None:
        return bool(await remove(session, kind="changelog", source_ids=[entry_id]))
    text = changelog_text(entry)
    changed = await upsert(
        session,
        kind="changelog",
        source_id=entry.id,
        language=detect_language(text),
        text=text,
        model=model,
    )
    entry.indexed_in_brain = models.status(model).available
    return changed


async def index_source(session: AsyncSession, kind: str, source_id: int, *, model: str) -> bool:
    """One document of any kind brought up to date (what the ``brain.index`` job runs)."""
    if kind == "bug":
        return await index_bug(session, source_id, model=model)
    if kind == "changelog":
        return await index_changelog(session, source_id, model=model)
    return await index_faq(session, source_id, model=model)


async def index_pending_changelog(session: AsyncSession, *, model: str, limit: int = 500) -> int:
    """Embed the changelog entries not yet in the brain; how many were. Nothing to do
    while no model is installed (their flag stays false)."""
    if not models.status(model).available:
        return 0
    entries = list(
        await session.scalars(
            select(ChangelogEntry)
            .where(ChangelogEntry.indexed_in_brain.is_(False))
            .order_by(ChangelogEntry.id)
            .limit(limit)
        )
    )
    docs = []
    for e in entries:
        text = changelog_text(e)
        docs.append(("changelog", e.id, detect_language(text), text))
    await upsert_many(session, docs, model=model)
    for e in entries:
        e.indexed_in_brain = True
    return len(entries)


async def reindex_others(session: AsyncSession, *, model: str, batch: int = 64) -> int:
    """Every bug's and changelog entry's document brought up to date (those gone
    dropped); returns how many changed."""
    changed = 0
    bugs = (await session.execute(select(BugLog.id, BugLog.title, BugLog.actual))).all()
    entries = list(await session.scalars(select(ChangelogEntry)))
    for kind, live in (("bug", {b.id for b in bugs}), ("changelog", {e.id for e in entries})):
        stored = set(
            await session.scalars(select(BrainDocument.source_id).where(BrainDocument.kind == kind))
        )
        changed += await remove(session, kind=kind, source_ids=sorted(stored - live))
    docs: list[tuple[str, int, str, str]] = []
    for b in bugs:
        text = f"{b.title.strip()}\n{b.actual.strip()[:1000]}"
        docs.append(("bug", b.id, detect_language(text), text))
    for e in entries:
        text = changelog_text(e)
        docs.append(("changelog", e.id, detect_language(text), text))
    for start in range(0, len(docs), batch):
        changed += await upsert_many(session, docs[start : start + batch], model=model)
    available = models.status(model).available
    for e in entries:
        e.indexed_in_brain = available
    return changed


# ------------------------------------------------------------- in-memory corpus


@dataclass
class Corpus:
    """The documents of one database as one process sees them at ``revision``."""

    revision: str
    model: str | None
    kinds: list[str] = field(default_factory=list)
    source_ids: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    matrix: Any = None  # numpy float32 (n, dim): rows of documents with a vector
    rows: list[int] = field(default_factory=list)  # matrix row -> document index
    vocab: Counter[str] = field(default_factory=Counter)
    choices: list[str] = field(default_factory=list)  # list(vocab), for rapidfuzz

    def __len__(self) -> int:
        return len(self.kinds)

    def nearest(self, vector: NDArray[np.float32], count: int) -> list[tuple[int, float]]:
        """``(document index, cosine)`` of the ``count`` rows closest to ``vector``, best
        first. One BLAS thread: a matrix-vector product is memory-bound, and more threads
        only contend with the other requests."""
        import numpy as np

        if self.matrix is None or not len(self.rows):
            return []
        with _one_blas_thread():
            sims = self.matrix @ vector
        count = min(count, len(sims))
        top = np.argpartition(-sims, count - 1)[:count]
        top = top[np.argsort(-sims[top])]
        return [(self.rows[int(i)], float(sims[i])) for i in top]


_blas: Any = None


def _one_blas_thread() -> Any:
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


_corpora: dict[tuple[str, str], Corpus] = {}
_corpora_lock = threading.Lock()


def _cache_key(session: AsyncSession, model: str) -> tuple[str, str]:
    return (session.get_bind().engine.url.render_as_string(hide_password=True), model)


async def corpus(session: AsyncSession, *, model: str) -> Corpus:
    """The current corpus for this database and model (reloaded when the revision moved)."""
    revision = await current_revision(session)
    key = _cache_key(session, model)
    cached = _corpora.get(key)
    if cached is not None and cached.revision == revision:
        return cached
    embedder = await load(model)
    model_name = embedder.name if embedder else None
    fresh = Corpus(revision=revision, model=model_name)
    matrix: Any = None
    filled = 0
    if embedder is not None:
        import numpy as np

        # the matrix is allocated once and filled as the rows stream in: no second copy
        # of 10,000 vectors in memory at once (the process would keep the peak)
        expected = await session.scalar(
            select(func.count())
            .select_from(BrainDocument)
            .where(BrainDocument.model == model_name, BrainDocument.vector.is_not(None))
        )
        matrix = np.empty((int(expected or 0), embedder.dim), dtype=np.float32)
    texts: list[str] = []
    stmt = (
        select(
            BrainDocument.kind,
            BrainDocument.source_id,
            BrainDocument.language,
            BrainDocument.text,
            BrainDocument.model,
            BrainDocument.vector,
        )
        .order_by(BrainDocument.id)
        .execution_options(yield_per=500)
    )
    async for kind, source_id, language, text, doc_model, vector in await session.stream(stmt):
        if matrix is not None and doc_model == model_name and vector:
            if filled == len(matrix):  # written since the count: grow (rare)
                matrix = np.concatenate([matrix, np.empty((64, matrix.shape[1]), np.float32)])
            matrix[filled] = np.frombuffer(vector, dtype="<f4")
            fresh.rows.append(len(fresh.kinds))
            filled += 1
        fresh.kinds.append(kind)
        fresh.source_ids.append(source_id)
        fresh.languages.append(language)
        if kind == "faq":  # typos are corrected towards the FAQ's words only
            texts.append(text)
    if matrix is not None:
        fresh.matrix = matrix[:filled]
    fresh.vocab = textutil.vocabulary(texts)
    fresh.choices = list(fresh.vocab)
    with _corpora_lock:
        _corpora[key] = fresh
    return fresh


def forget_corpora() -> None:
    """Drop every cached corpus (tests and benchmarks that recreate databases)."""
    with _corpora_lock:
        _corpora.clear()
