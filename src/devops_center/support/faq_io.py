"""FAQ import and export as JSON (``dcc faq import FILE.json`` / ``dcc faq export``).

The file is a list of entries::

    [{"category": "Shifts", "question": "How do I swap a shift?", "answer": "...",
      "language": "en"},
     {"category": "Смены", "question": "Как поменяться сменой?", "answer": "...",
      "language": "ru", "translation_of": "How do I swap a shift?"}]

``language`` (``ru``/``en``) may be left out: it is then read from the text.
``translation_of`` (optional) names, by its question, the entry this one translates;
the two are then shown as one in search. Import is idempotent by question: an entry
whose question exists already is updated (category, answer, language), a new one is
created; importing the same file twice changes nothing. Every entry is checked first:
one bad entry and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.errors import Invalid
from devops_center.i18n import gettext
from devops_center.support import service as support
from devops_center.support.models import FaqEntry, FaqTranslation

FIELDS = ("category", "question", "answer", "language", "translation_of")


class FaqFileError(Invalid):
    """The file cannot be imported; ``message`` says which entry and why (English)."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0
    changed_ids: list[int] = field(default_factory=list)  # created or updated entries


def detect_language(text: str) -> str:
    """``ru`` when Cyrillic letters are at least as many as Latin ones, else ``en``."""
    cyrillic = sum(1 for c in text.lower() if "а" <= c <= "я" or c == "ё")
    latin = sum(1 for c in text.lower() if "a" <= c <= "z")
    return "ru" if cyrillic and cyrillic >= latin else "en"


def _fail(position: int, question: str, problem: str) -> FaqFileError:
    where = f"entry {position}" + (f" ({question[:60]!r})" if question else "")
    return FaqFileError(f"{where}: {problem}")


def parse(data: Any) -> list[tuple[support.FaqInput, str | None]]:
    """Checked entries and the question each one translates; FaqFileError otherwise."""
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if not isinstance(data, list):
        raise FaqFileError("the file must hold a JSON list of FAQ entries")
    out: list[tuple[support.FaqInput, str | None]] = []
    seen: set[str] = set()
    for position, raw in enumerate(data, start=1):
        if not isinstance(raw, dict):
            raise _fail(position, "", "not an object")
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            raise _fail(position, "", f"unknown field(s) {', '.join(unknown)}")
        values = {k: raw.get(k) for k in FIELDS}
        if any(v is not None and not isinstance(v, str) for v in values.values()):
            raise _fail(position, "", "every field must be a string")
        question = (values["question"] or "").strip()
        language = (values["language"] or "").strip().lower() or detect_language(
            f"{question} {values['answer'] or ''}"
        )
        try:
            clean = support.validate_faq(
                support.FaqInput(
                    category=values["category"] or "",
                    question=question,
                    answer=values["answer"] or "",
                    language=language,
                )
            )
        except Invalid as exc:
            problems = "; ".join(f"{k}: {gettext('en', v)}" for k, v in exc.fields.items())
            raise _fail(position, question, problems) from exc
        if clean.question in seen:
            raise _fail(position, question, "the same question appears twice in the file")
        seen.add(clean.question)
        translation_of = (values["translation_of"] or "").strip() or None
        if translation_of == clean.question:
            raise _fail(position, question, "an entry cannot be its own translation")
        out.append((clean, translation_of))
    return out


async def import_entries(session: AsyncSession, data: Any) -> ImportReport:
    """Create or update the file's entries and pair translations, in the caller's
    transaction. Raises FaqFileError (nothing written) on the first bad entry."""
    entries = parse(data)
    report = ImportReport()
    questions = [e.question for e, _t in entries] + [t for _e, t in entries if t]
    existing: dict[str, FaqEntry] = {}
    for start in range(0, len(questions), 500):
        rows = await session.scalars(
            select(FaqEntry).where(FaqEntry.question.in_(questions[start : start + 500]))
        )
        existing.update({e.question: e for e in rows})
    for clean, _t in entries:
        entry = existing.get(clean.question)
        if entry is None:
            entry = await support.create_faq(session, data=clean, actor_id=None)
            existing[entry.question] = entry
            report.created += 1
            report.changed_ids.append(entry.id)
        elif (entry.category, entry.answer, entry.language) != (
            clean.category,
            clean.answer,
            clean.language,
        ):
            await support.update_faq(session, faq_id=entry.id, data=clean, actor_id=None)
            report.updated += 1
            report.changed_ids.append(entry.id)
        else:
            report.unchanged += 1
    for position, (clean, translation_of) in enumerate(entries, start=1):
        if translation_of is None:
            continue
        original = existing.get(translation_of)
        if original is None:
            raise _fail(position, clean.question, f"translation_of: no entry {translation_of!r}")
        report.linked += await link_translation(
            session, original=original, translation=existing[clean.question]
        )
    return report


async def link_translation(
    session: AsyncSession, *, original: FaqEntry, translation: FaqEntry
) -> int:
    """Pair two entries of different languages (replacing the pairs either was in).
    Returns 1 when a pair was written, 0 when it existed already."""
    if original.language == translation.language:
        raise FaqFileError(
            f"{translation.question[:60]!r} and {original.question[:60]!r} are both "
            f"in {original.language}: a translation must be in the other language"
        )
    pair = await session.get(FaqTranslation, original.id)
    if pair is not None and pair.translation_id == translation.id:
        return 0
    ids = [original.id, translation.id]
    await session.execute(
        delete(FaqTranslation).where(
            or_(FaqTranslation.original_id.in_(ids), FaqTranslation.translation_id.in_(ids))
        )
    )
    session.add(FaqTranslation(original_id=original.id, translation_id=translation.id))
    await session.flush()
    return 1


async def export_entries(session: AsyncSession) -> list[dict[str, str]]:
    """Every entry (language, then the admin's order), translations naming their original."""
    originals = dict(
        (
            await session.execute(
                select(FaqTranslation.translation_id, FaqEntry.question).join(
                    FaqEntry, FaqEntry.id == FaqTranslation.original_id
                )
            )
        ).all()
    )
    rows = await session.scalars(
        select(FaqEntry).order_by(FaqEntry.language, FaqEntry.order_index, FaqEntry.id)
    )
    out = []
    for e in rows:
        item = {
            "category": e.category,
            "question": e.question,
            "answer": e.answer,
            "language": e.language,
        }
        if e.id in originals:
            item["translation_of"] = originals[e.id]
        out.append(item)
    return out
