"""What the brain answers a person, and what it remembers of the question.

:func:`ask` is the one entry for a question from the FAQ page, the bot's /faq and free
text, the API and the bug forms: it runs :func:`devops_center.brain.service.search`,
adds the known issues (bugs and changelog entries close in meaning) when asked, and
keeps the question (``brain_questions``) for the gaps page and the deflection rate.

Known issues are shown by their public face only: a changelog entry's description, or a
bug's ``public_summary`` (written at triage); a bug without one is "bug #N". Another
user's title or description is never shown; the asker's own bug is shown by its title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.brain import index
from devops_center.brain import service as brain
from devops_center.brain.models import BrainQuestion
from devops_center.db import utcnow
from devops_center.deployments.models import ChangelogEntry, Deployment, DeploymentCommit
from devops_center.support.models import BugDuplicate, BugLog

# A bug or changelog entry this close in meaning (cosine) to the question is listed as a
# known issue; measured on short problem descriptions with the default model (a
# paraphrase of the same problem scores 0.55-0.85, an unrelated one below 0.35).
ISSUE_COSINE = 0.5
ISSUES_SHOWN = 3
# Questions typed as you go on the FAQ page: one row per person and this many seconds.
TYPING_WINDOW = timedelta(seconds=60)
TEXT_MAX = 500


@dataclass(frozen=True)
class KnownIssue:
    """A bug or changelog entry that matches the question, as anyone may read it."""

    kind: str  # "bug" or "changelog"
    source_id: int
    summary: str | None  # public text; None: say "bug #N"
    status: str | None  # a bug's status
    fixed_on: datetime | None
    deploy: str | None  # short sha of the deployment that shipped the fix
    score: float
    own: bool = False  # the asker's own bug


@dataclass
class Answer:
    result: brain.SearchResult
    issues: list[KnownIssue] = field(default_factory=list)
    question_id: int | None = None

    @property
    def items(self) -> list[brain.SearchItem]:
        return self.result.items

    @property
    def confident(self) -> bool:
        return self.result.confident

    @property
    def best(self) -> brain.SearchItem | None:
        """The FAQ answer to show as *the* answer (a confident first result)."""
        return self.result.items[0] if self.result.confident and self.result.items else None


async def ask(
    session: AsyncSession,
    text: str,
    *,
    language: str,
    channel: str,
    model: str,
    user_id: int | None = None,
    category: str | None = None,
    limit: int = 5,
    related_only: bool = True,
    issues: bool = False,
    form_token: str | None = None,
    record: bool = True,
) -> Answer:
    """Search the FAQ (and known issues when ``issues``), and keep the question."""
    text = " ".join((text or "").split())[:TEXT_MAX]
    result = await brain.search(
        session,
        text,
        language=language,
        category=category,
        limit=limit,
        model=model,
        related_only=related_only,
    )
    answer = Answer(result)
    if issues and result.vector is not None:
        answer.issues = await known_issues(
            session, result.vector, model=model, user_id=user_id, corpus=result.corpus
        )
    if record and text:
        answer.question_id = await _remember(
            session, answer, text, language, channel, model, user_id, form_token
        )
    return answer


async def known_issues(
    session: AsyncSession,
    vector: Any,
    *,
    model: str,
    user_id: int | None = None,
    corpus: index.Corpus | None = None,
) -> list[KnownIssue]:
    """Bugs and changelog entries close in meaning to ``vector``, best first; a merged
    duplicate is shown as its original. ``corpus``: the one the question was just
    searched in (saves reading the revision again)."""
    corpus = corpus or await index.corpus(session, model=model)
    found: list[tuple[str, int, float]] = []
    for doc, cosine in corpus.nearest(vector, 200):
        if cosine < ISSUE_COSINE:
            break
        if corpus.kinds[doc] in ("bug", "changelog"):
            found.append((corpus.kinds[doc], corpus.source_ids[doc], cosine))
    if not found:  # the usual case: nothing to look up
        return []
    bug_ids = [s for k, s, _c in found if k == "bug"]
    originals = dict(
        (
            await session.execute(
                select(BugDuplicate.bug_id, BugDuplicate.original_id).where(
                    BugDuplicate.bug_id.in_(bug_ids)
                )
            )
        ).all()
    )
    out: list[KnownIssue] = []
    seen: set[tuple[str, int]] = set()
    for kind, source, cosine in found:
        source = originals.get(source, source) if kind == "bug" else source
        if (kind, source) in seen:
            continue
        seen.add((kind, source))
        issue = await (_bug if kind == "bug" else _changelog)(session, source, cosine, user_id)
        if issue is not None:
            out.append(issue)
        if len(out) >= ISSUES_SHOWN:
            break
    return out


async def _bug(
    session: AsyncSession, bug_id: int, cosine: float, user_id: int | None
) -> KnownIssue | None:
    bug = await session.get(BugLog, bug_id)
    if bug is None:
        return None
    own = user_id is not None and bug.user_id == user_id
    summary = bug.title if own else bug.public_summary
    deploy = None
    if bug.status in ("resolved", "closed") and bug.github_issue_number:
        sha = await session.scalar(
            select(ChangelogEntry.commit_sha)
            .where(
                ChangelogEntry.github_issue == bug.github_issue_number,
                ChangelogEntry.commit_sha.is_not(None),
            )
            .order_by(ChangelogEntry.date.desc())
            .limit(1)
        )
        deploy = await _deployment_of(session, sha) if sha else None
    fixed_on = bug.resolved_at if bug.status in ("resolved", "closed") else None
    return KnownIssue("bug", bug.id, summary, bug.status, fixed_on, deploy, cosine, own)


async def _changelog(
    session: AsyncSession, entry_id: int, cosine: float, _user_id: int | None
) -> KnownIssue | None:
    entry = await session.get(ChangelogEntry, entry_id)
    if entry is None:
        return None
    deploy = await _deployment_of(session, entry.commit_sha) if entry.commit_sha else None
    return KnownIssue(
        "changelog", entry.id, entry.description, entry.status, entry.date, deploy, cosine
    )


async def _deployment_of(session: AsyncSession, sha: str) -> str | None:
    """The short sha of the first successful deployment that shipped commit ``sha``."""
    sha = sha.lower()
    shipped = await session.scalar(
        select(Deployment.commit_sha)
        .outerjoin(DeploymentCommit, DeploymentCommit.deployment_id == Deployment.id)
        .where(
            Deployment.status == "success",
            (Deployment.commit_sha == sha) | (DeploymentCommit.sha == sha),
        )
        .order_by(Deployment.completed_at, Deployment.id)
        .limit(1)
    )
    return shipped[:7] if shipped else None


async def _remember(
    session: AsyncSession,
    answer: Answer,
    text: str,
    language: str,
    channel: str,
    model: str,
    user_id: int | None,
    form_token: str | None,
) -> int:
    """One row per question; the FAQ page's keystrokes of one person within a minute, and
    the words typed into one bug form, update one row."""
    row: BrainQuestion | None = None
    if form_token:
        row = await session.scalar(
            select(BrainQuestion)
            .where(BrainQuestion.form_token == form_token, BrainQuestion.channel == channel)
            .limit(1)
        )
    elif channel == "faq_page" and user_id is not None:
        row = await session.scalar(
            select(BrainQuestion)
            .where(
                BrainQuestion.user_id == user_id,
                BrainQuestion.channel == channel,
                BrainQuestion.updated_at >= utcnow() - TYPING_WINDOW,
            )
            .order_by(BrainQuestion.id.desc())
            .limit(1)
        )
    if row is None:
        row = BrainQuestion(user_id=user_id, channel=channel, form_token=form_token)
        session.add(row)
    first = answer.issues[0] if answer.issues and not answer.items else None
    top = answer.items[0] if answer.items else None
    row.language, row.text, row.confident = language, text, answer.confident
    row.answer_kind = "faq" if top else (first.kind if first else None)
    row.answer_id = top.id if top else (first.source_id if first else None)
    row.score = top.score if top else (first.score if first else None)
    shown = len(answer.items) + len(answer.issues)
    row.suggestions = max(row.suggestions or 0, shown) if form_token else shown
    row.helpful = None
    vector = answer.result.vector
    row.model = model if vector is not None else None
    row.vector = index._vector_bytes(vector) if vector is not None else None
    row.updated_at = utcnow()
    await session.flush()
    return row.id


async def feedback(
    session: AsyncSession, *, question_id: int, helpful: bool, user_id: int | None
) -> BrainQuestion | None:
    """The asker's "did this help?"; None when the question is not theirs or is gone."""
    row = await session.get(BrainQuestion, question_id)
    if row is None or (row.user_id is not None and row.user_id != user_id):
        return None
    row.helpful = helpful
    row.updated_at = utcnow()
    await session.flush()
    return row
