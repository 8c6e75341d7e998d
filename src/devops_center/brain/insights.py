"""What the brain learns from the questions it was asked: gaps and deflection.

**Gaps**: questions from the FAQ page, the bot and the API that got no confident
answer, or whose answer the asker said did not help, grouped by meaning (the query
embeddings kept with them: a question joins the first group whose first question is at
least ``GAP_COSINE`` close; without a model, questions with the same content words are
one group). Owners see them on /admin/faq/gaps with counts and examples.

**Deflection**: of the bug forms (web and bot) where the brain showed answers or known
issues, the share after which no bug was filed (the form's idempotency token is the
bug's ``client_token``, so "filed" is a join).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.brain import embedder as models
from devops_center.brain import text as textutil
from devops_center.brain.models import BrainQuestion
from devops_center.db import utcnow
from devops_center.support.models import BugLog

ASKING = ("faq_page", "bot_faq", "bot_text", "api")
BUG_FORMS = ("bug_form", "bot_bug")
GAP_COSINE = 0.6
GAP_ROWS = 2000  # the newest unanswered questions considered
# a bug form counts once its writer had time to decide (and left the page)
SETTLE = timedelta(minutes=30)


@dataclass
class Gap:
    """Questions the FAQ did not answer, alike in meaning."""

    count: int = 0
    examples: list[str] = field(default_factory=list)  # distinct, newest first
    languages: Counter[str] = field(default_factory=Counter)
    users: set[int] = field(default_factory=set)
    last_at: datetime | None = None
    not_helpful: int = 0
    vector: Any = None

    @property
    def language(self) -> str:
        return self.languages.most_common(1)[0][0] if self.languages else "en"

    @property
    def question(self) -> str:
        """The FAQ question to prefill: the group's most common wording (else the newest)."""
        return self.examples[0] if self.examples else ""


async def gaps(
    session: AsyncSession, *, days: int = 90, limit: int = 30, model: str | None = None
) -> list[Gap]:
    """Groups of unanswered questions, the largest first."""
    since = utcnow() - timedelta(days=days)
    rows = (
        await session.execute(
            select(
                BrainQuestion.text,
                BrainQuestion.language,
                BrainQuestion.user_id,
                BrainQuestion.created_at,
                BrainQuestion.helpful,
                BrainQuestion.model,
                BrainQuestion.vector,
            )
            .where(
                BrainQuestion.channel.in_(ASKING),
                BrainQuestion.created_at >= since,
                or_(BrainQuestion.confident == false(), BrainQuestion.helpful == false()),
            )
            .order_by(BrainQuestion.created_at.desc(), BrainQuestion.id.desc())
            .limit(GAP_ROWS)
        )
    ).all()
    groups: list[Gap] = []
    by_words: dict[frozenset[str], Gap] = {}
    wordings: dict[int, Counter[str]] = {}
    vector_model = model if model and models.status(model).available else None
    for text, language, user_id, created_at, helpful, row_model, blob in rows:
        gap = None
        vector = None
        if blob and row_model == vector_model:
            import numpy as np

            vector = np.frombuffer(blob, dtype="<f4")
            gap = next(
                (
                    g
                    for g in groups
                    if g.vector is not None and float(g.vector @ vector) >= GAP_COSINE
                ),
                None,
            )
        else:
            key = frozenset(textutil.content_words(text)) or frozenset([text.lower()])
            gap = by_words.get(key)
            if gap is None:
                gap = by_words[key] = Gap()
                groups.append(gap)
        if gap is None:
            gap = Gap(vector=vector)
            groups.append(gap)
        gap.count += 1
        gap.languages[language] += 1
        gap.not_helpful += helpful is False
        if user_id is not None:
            gap.users.add(user_id)
        gap.last_at = max(gap.last_at or created_at, created_at)
        counts = wordings.setdefault(id(gap), Counter())
        counts[text.strip()] += 1
    for gap in groups:
        counts = wordings.get(id(gap), Counter())
        # the most common wording first, then the newest ones (Counter keeps insertion)
        gap.examples = [t for t, _n in counts.most_common(5)]
    groups.sort(key=lambda g: (-g.count, -(g.last_at.timestamp() if g.last_at else 0)))
    return groups[:limit]


@dataclass(frozen=True)
class Deflection:
    shown: int  # bug forms where suggestions were shown
    filed: int  # ... after which the bug was filed anyway
    helped: int  # "did this help?" answered yes (bot free text)
    days: int

    @property
    def rate(self) -> float | None:
        """The share of forms with suggestions after which no bug was filed."""
        return (self.shown - self.filed) / self.shown if self.shown else None


async def deflection(session: AsyncSession, *, days: int = 30) -> Deflection:
    since = utcnow() - timedelta(days=days)
    settled = utcnow() - SETTLE
    base = (
        select(func.count())
        .select_from(BrainQuestion)
        .where(
            BrainQuestion.channel.in_(BUG_FORMS),
            BrainQuestion.suggestions > 0,
            BrainQuestion.created_at >= since,
        )
    )
    filed_rows = base.join(BugLog, BugLog.client_token == BrainQuestion.form_token)
    shown = int(await session.scalar(base.where(BrainQuestion.updated_at <= settled)) or 0)
    filed_settled = int(
        await session.scalar(filed_rows.where(BrainQuestion.updated_at <= settled)) or 0
    )
    helped = int(
        await session.scalar(
            select(func.count())
            .select_from(BrainQuestion)
            .where(BrainQuestion.helpful.is_(True), BrainQuestion.created_at >= since)
        )
        or 0
    )
    return Deflection(shown=shown, filed=filed_settled, helped=helped, days=days)


@dataclass(frozen=True)
class Dashboard:
    """The support brain's card on /admin/faq."""

    status: models.Status
    deflection: Deflection
    questions: int  # asked in the window
    unanswered: int
    days: int


async def dashboard(session: AsyncSession, *, model: str, days: int = 30) -> Dashboard:
    since = utcnow() - timedelta(days=days)
    asked = select(func.count()).select_from(BrainQuestion)
    asked = asked.where(BrainQuestion.channel.in_(ASKING), BrainQuestion.created_at >= since)
    questions = int(await session.scalar(asked) or 0)
    unanswered = int(
        await session.scalar(
            asked.where(or_(BrainQuestion.confident == false(), BrainQuestion.helpful == false()))
        )
        or 0
    )
    return Dashboard(
        status=models.status(model),
        deflection=await deflection(session, days=days),
        questions=questions,
        unanswered=unanswered,
        days=days,
    )
