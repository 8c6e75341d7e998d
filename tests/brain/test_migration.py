"""Migration 0004 (support brain) keeps the FAQ; entries marked in the wrong script are fixed."""

from __future__ import annotations

from sqlalchemy import text

from devops_center.db import make_engine
from devops_center.migrations import runner


async def test_existing_entries_get_their_language_from_the_text(db_url: str) -> None:
    runner.downgrade(db_url, "0003")
    engine = make_engine(db_url, pool_size=1)
    try:
        rows = [
            ("ru", "How do I sign in?", "Use your email."),  # marked ru, written in English
            ("en", "Как войти?", "Введите пароль."),  # marked en, written in Russian
            ("ru", "Как открыть смену в app?", "Нажмите Start."),  # mixed: stays ru
            ("en", "Where is the schedule?", "In the app."),
        ]
        async with engine.begin() as conn:
            for lang, q, a in rows:
                await conn.execute(
                    text(
                        "INSERT INTO faq_entries (category, question, answer, language,"
                        " order_index, views_count, helpful_count, not_helpful_count,"
                        " created_at, updated_at) VALUES"
                        " ('c', :q, :a, :l, 0, 0, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"q": q, "a": a, "l": lang},
                )
        runner.upgrade(db_url)
        async with engine.begin() as conn:
            got = dict(
                (await conn.execute(text("SELECT question, language FROM faq_entries"))).all()
            )
            hits = await conn.execute(
                text("SELECT count(*) FROM faq_entries WHERE language = 'en'")
            )
            assert hits.scalar() == 2
            await conn.execute(text("DELETE FROM faq_entries"))
        assert got == {
            "How do I sign in?": "en",
            "Как войти?": "ru",
            "Как открыть смену в app?": "ru",
            "Where is the schedule?": "en",
        }
    finally:
        runner.upgrade(db_url)
        await engine.dispose()
