"""The support brain in the bot: /faq words and free text, both languages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from devops_center.brain.models import BrainQuestion
from tests.bot.standin import TgUser


async def test_faq_search_finds_across_languages(
    bot: Any, ann: TgUser, boss: TgUser, faq: dict[str, set[int]]
) -> None:
    found = await ann.ask("/faq как установить мобильное приложение", "Found for")
    assert "How do I install the mobile app?" in [t for t, _ in found.buttons()]
    ru = await boss.ask("/faq I forgot my password", "Найдено")
    assert any("парол" in t.lower() for t, _ in ru.buttons())
    none = await ann.ask("/faq kubernetes helm chart", "Nothing found")
    assert "/bug" in none.text


async def test_free_text_is_answered_and_no_starts_a_bug(
    bot: Any, ann: TgUser, boss: TgUser, sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    answer = await boss.ask("как поставить мобильное приложение на телефон", "помогло")
    assert "How do I install the mobile app?" in answer.text  # an English-only entry
    assert [t for t, _ in answer.buttons()] == ["👍 Да", "👎 Нет — сообщить о баге"]
    await boss.press(answer, "👍")
    await bot.settle()

    unknown = await ann.ask("the coffee machine on floor 3 is broken", "do not know the answer")
    assert [t for t, _ in unknown.buttons()] == ["🐞 Report a bug"]
    mark = ann.mark()
    await ann.press(unknown, "🐞")
    step = await ann.reply("Step 2 of 6", after=mark)
    titles = [c.text for c in ann.standin.sent(ann.id) if c.text.startswith("Title:")]
    assert titles == ["Title: the coffee machine on floor 3 is broken"]
    assert step
    async with sessionmaker() as s:
        rows = (await s.execute(select(BrainQuestion).order_by(BrainQuestion.id))).scalars().all()
    assert [(r.channel, r.helpful) for r in rows] == [("bot_text", True), ("bot_text", False)]


async def test_first_bug_answer_shows_answers_and_is_recorded(
    bot: Any, ann: TgUser, sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    await ann.ask("/bug", "Step 1 of 6")
    mark = ann.mark()
    await ann.send_text("I forgot my password and cannot sign in")
    tip = await ann.reply("perhaps this is it", after=mark)
    assert "password" in tip.text.lower()
    await ann.reply("Step 2 of 6", after=mark)
    async with sessionmaker() as s:
        row = (await s.execute(select(BrainQuestion))).scalar_one()
    assert row.channel == "bot_bug" and row.suggestions >= 1
    assert row.form_token and row.form_token.startswith(f"tg:{row.user_id}:")
