"""brain.search: meaning across languages, typos, word forms, translations, confidence."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import delete, select, update

from devops_center.brain import embedder, index
from devops_center.brain import service as brain
from devops_center.brain.models import BrainDocument
from devops_center.support import service as support
from devops_center.support.models import FaqEntry


async def _search(sessionmaker: Any, query: str, **kw: Any) -> brain.SearchResult:
    kw.setdefault("language", "en")
    async with sessionmaker() as s:
        return await brain.search(s, query, **kw)


async def test_russian_question_finds_english_entry_and_back(
    sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    ru = await _search(sessionmaker, "как установить мобильное приложение", language="ru")
    assert ru.mode == "hybrid"
    assert ru.items[0].id in faq["install_app"]
    assert ru.items[0].question == "How do I install the mobile app?"  # no Russian version
    assert ru.confident

    en = await _search(sessionmaker, "why were my hours not counted", language="en")
    assert en.items[0].id in faq["hours_not_counted"]
    assert en.items[0].question == "Почему не засчитались часы?"
    assert en.confident


async def test_paraphrase_typo_and_word_forms(sessionmaker: Any, faq: dict[str, set[int]]) -> None:
    cases = [
        ("у меня температура, выйти на работу не получится", "ru", "sick_leave"),  # no shared word
        ("забыл пароьл", "ru", "forgot_password"),  # transposed letters
        ("how do I turn of notifcations", "en", "notifications_off"),  # two typos
        ("смены не закрываются", "ru", "shift_wont_close"),  # «смена не закрывается»
        ("смена языка", "ru", "interface_language"),  # «сменить язык», not a shift
    ]
    for query, lang, key in cases:
        result = await _search(sessionmaker, query, language=lang)
        assert result.items[0].id in faq[key], (query, result.items[0].question)


async def test_a_translated_entry_is_one_result_in_the_readers_language(
    sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    for lang, question in (
        ("ru", "Как поменяться сменой с коллегой?"),
        ("en", "How do I swap a shift with a colleague?"),
    ):
        for query in ("swap shift with a colleague", "поменяться сменой с коллегой"):
            result = await _search(sessionmaker, query, language=lang, limit=10)
            hits = [i for i in result.items if i.id in faq["swap_shift"]]
            assert [h.question for h in hits] == [question]
            assert result.items[0].language == lang


async def test_questions_the_faq_does_not_answer_are_not_confident(
    sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    for query, lang in (
        ("Can I bring my dog to work?", "en"),
        ("Где находится ближайшая парковка?", "ru"),
    ):
        result = await _search(sessionmaker, query, language=lang)
        assert not result.confident, (query, result.items[0].question)


async def test_category_filter_and_limits(sessionmaker: Any, faq: dict[str, set[int]]) -> None:
    result = await _search(sessionmaker, "деньги", language="ru", category="Оплата", limit=3)
    assert 0 < len(result.items) <= 3
    assert {i.category for i in result.items} == {"Оплата"}
    assert (await _search(sessionmaker, "  ?! ", language="ru")).items == []
    payload = result.as_dict()
    assert set(payload) == {"items", "confident"}
    assert set(payload["items"][0]) == {"id", "question", "answer", "category", "score"}
    assert 0 < payload["items"][0]["score"] <= 1


async def test_without_a_model_search_is_lexical(
    sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    typo = await _search(sessionmaker, "забыл пароьл", language="ru", model=embedder.NO_MODEL)
    assert typo.mode == "lexical"
    assert typo.items[0].id in faq["forgot_password"]
    assert typo.confident  # every word (after correction) is in the entry
    cross = await _search(
        sessionmaker, "как установить мобильное приложение", language="ru", model="none"
    )
    assert not any(i.id in faq["install_app"] for i in cross.items)
    unknown = embedder.status("no-such-model")
    assert not unknown.available and "unknown model" in unknown.why
    assert (await _search(sessionmaker, "забыл пароьл", model="no-such-model")).mode == "lexical"


async def test_documents_follow_the_entries(sessionmaker: Any, model: str, people: Any) -> None:
    """Created, edited and deleted entries are (re)indexed by index_faq; the vector is the
    model's float32 embedding of the question, stored in the database."""
    async with sessionmaker() as s, s.begin():
        entry = await support.create_faq(
            s,
            data=support.FaqInput("Parking", "Where can I leave my bicycle?", "Bike racks.", "en"),
            actor_id=None,
        )
        assert await index.index_faq(s, entry.id, model=model)
        assert not await index.index_faq(s, entry.id, model=model)  # unchanged: no work
    found = await _search(sessionmaker, "где оставить велосипед", language="ru")
    assert found.items[0].id == entry.id

    async with sessionmaker() as s:
        doc = (await s.execute(select(BrainDocument))).scalar_one()
    vector = np.frombuffer(doc.vector or b"", dtype="<f4")
    assert (doc.kind, doc.source_id, doc.language, doc.model) == ("faq", entry.id, "en", model)
    assert doc.text == "Where can I leave my bicycle?" and vector.shape == (512,)
    assert abs(float(np.linalg.norm(vector)) - 1) < 1e-3

    async with sessionmaker() as s, s.begin():
        await support.update_faq(
            s,
            faq_id=entry.id,
            data=support.FaqInput("Parking", "Is there a car park?", "Level -1.", "en"),
            actor_id=None,
        )
        assert await index.index_faq(s, entry.id, model=model)
    async with sessionmaker() as s:
        again = (await s.execute(select(BrainDocument))).scalar_one()
    assert again.text == "Is there a car park?" and again.vector != doc.vector
    assert (await _search(sessionmaker, "парковка для машины", language="ru")).items[
        0
    ].id == entry.id

    async with sessionmaker() as s, s.begin():
        await support.delete_faq(s, faq_id=entry.id, actor_id=None)
        assert await index.index_faq(s, entry.id, model=model)  # gone: its document dropped
    async with sessionmaker() as s:
        assert (await s.execute(select(BrainDocument))).first() is None
    assert (await _search(sessionmaker, "парковка для машины", language="ru")).items == []


async def test_reindex_after_a_model_change(
    sessionmaker: Any, faq: dict[str, set[int]], model: str
) -> None:
    async with sessionmaker() as s, s.begin():
        report = await index.reindex_faq(s, model=model)
    assert (report.total, report.embedded, report.removed) == (52, 0, 0)

    async with sessionmaker() as s, s.begin():  # as if written by another model, and a stray
        await s.execute(update(BrainDocument).values(model="old-model"))
        gone = next(iter(faq["uniform"]))
        await s.execute(delete(FaqEntry).where(FaqEntry.id == gone))
    steps: list[tuple[int, int]] = []
    async with sessionmaker() as s, s.begin():
        report = await index.reindex_faq(
            s, model=model, batch=20, progress=lambda d, t: steps.append((d, t))
        )
    assert (report.total, report.embedded, report.removed) == (51, 51, 1)
    assert steps == [(20, 51), (40, 51), (51, 51)]
    async with sessionmaker() as s:
        models = set((await s.scalars(select(BrainDocument.model))).all())
    assert models == {model}


async def test_a_process_sees_writes_of_another(
    sessionmaker: Any, faq: dict[str, set[int]], model: str
) -> None:
    """The in-memory matrix is reloaded when the revision in the database moved."""
    before = await _search(sessionmaker, "где оставить велосипед", language="ru")
    async with sessionmaker() as s:
        revision = await index.current_revision(s)
    async with sessionmaker() as s, s.begin():
        entry = FaqEntry(
            category="Parking",
            question="Where can I leave my bicycle?",
            answer="Racks.",
            language="en",
        )
        s.add(entry)
        await s.flush()
        await index.index_faq(s, entry.id, model=model)
    async with sessionmaker() as s:
        assert await index.current_revision(s) != revision
    after = await _search(sessionmaker, "где оставить велосипед", language="ru")
    assert after.items[0].id == entry.id != before.items[0].id
