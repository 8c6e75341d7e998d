"""/faq (browse, search, votes, long answers), /mybugs (pages), /web, /language, /support."""

from __future__ import annotations

from sqlalchemy import select

from devops_center.support.models import BugLog, FaqEntry
from devops_center.users import service as users
from devops_center.users import signin
from devops_center.users.models import User
from tests.bot.standin import TgUser


async def test_faq_browse_search_and_votes(bot, ann: TgUser, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        s.add(
            FaqEntry(
                category="Account",
                question="How do I sign in?",
                answer="Use /web & go.",
                language="en",
            )
        )
        s.add(
            FaqEntry(
                category="Account",
                question="Forgot password",
                answer="Ask an admin.",
                language="en",
                order_index=1,
            )
        )
        s.add(
            FaqEntry(
                category="Reports",
                question="Long one",
                answer="word " * 1200,
                language="en",
                order_index=2,
            )
        )
        s.add(
            FaqEntry(category="Аккаунт", question="Как войти?", answer="Через /web.", language="ru")
        )
    topics = await ann.ask("/faq", "Choose a topic")
    assert [t for t, _ in topics.buttons()] == ["Account", "Reports", "🏠 Menu"]
    questions = await ann.tap(topics, "Account", "Account")
    # pages change in place, with Back and Home
    assert questions.method == "editMessageText"
    assert int(questions.params["message_id"]) == topics.result["message_id"]
    assert [t for t, _ in questions.buttons()] == [
        "How do I sign in?",
        "Forgot password",
        "◀ Back",
        "🏠 Menu",
    ]
    answer = await ann.tap(questions, "How do I sign in?", "Was this helpful?")
    assert answer.method == "editMessageText" and "Use /web &amp; go." in answer.text
    assert [t for t, _ in answer.buttons()] == ["👍 0", "👎 0", "◀ Back", "🏠 Menu"]
    mark = ann.mark()
    await ann.press(answer, "👍")
    voted = await ann.standin.wait_for(lambda c: c.method == "editMessageReplyMarkup", after=mark)
    assert [t for t, _ in voted.buttons()][:2] == ["👍 1", "👎 0"]
    mark = ann.mark()
    await ann.press(answer, "👎")
    changed = await ann.standin.wait_for(lambda c: c.method == "editMessageReplyMarkup", after=mark)
    assert [t for t, _ in changed.buttons()][:2] == ["👍 0", "👎 1"]
    back = await ann.tap(answer, "Back", "Account")
    assert "Forgot password" in [t for t, _ in back.buttons()]
    up = await ann.tap(back, "Back", "Choose a topic")
    home = await ann.tap(up, "Menu", "How can we help?")
    assert home.method == "editMessageText" and "🐞 Report a bug" in [t for t, _ in home.buttons()]
    await bot.settle()
    async with sessionmaker() as s:
        entry = (
            await s.execute(select(FaqEntry).where(FaqEntry.question == "How do I sign in?"))
        ).scalar_one()
    assert (entry.helpful_count, entry.not_helpful_count, entry.views_count) == (0, 1, 1)

    # a long answer is sent in parts under the 4,096-unit limit, buttons on the last part
    topics = await ann.ask("/faq", "Choose a topic")
    mark = ann.mark()
    reports = await ann.tap(topics, "Reports", "Reports")
    await ann.press(reports, "Long one")
    last = await ann.reply("Was this helpful?", after=mark)
    parts = [c for c in ann.standin.sent(ann.id)[-3:] if c.text.startswith(("<b>Long", "word"))]
    assert len(parts) == 2 and last.buttons() and not ann.standin.refused

    found = await ann.ask("/faq password", "Found for")
    assert [t for t, _ in found.buttons()] == ["Forgot password", "🏠 Menu"]
    await ann.ask("/faq <zebra>", "Nothing found for “&lt;zebra&gt;”")


async def test_mybugs_pages_and_github_links(bot, ann: TgUser, sessionmaker, settings) -> None:
    async with sessionmaker() as s, s.begin():
        user = await users.create_user(s, name="Ann", telegram_id=ann.id, language="en")
        other = await users.create_user(s, name="Bob", email="bob@test.local")
        for i in range(7):
            s.add(
                BugLog(
                    user_id=user.id,
                    title=f"Bug <{i}>",
                    what_doing="a",
                    expected="b",
                    actual="c",
                    status="in_progress" if i == 6 else "open",
                    github_issue_number=40 + i if i == 6 else None,
                )
            )
        s.add(BugLog(user_id=other.id, title="Not mine", what_doing="a", expected="b", actual="c"))
    await ann.ask("/start", "Hello")
    first = await ann.ask("/mybugs", "Your reports: 7 bugs. Shown 1–5")
    assert "Bug &lt;6&gt;" in first.text and "In progress" in first.text
    assert "Not mine" not in first.text
    buttons = [t for t, _ in first.buttons()]
    assert buttons[-2:] == ["▶", "🏠 Menu"] and buttons[0].endswith("Bug <6>")
    second = await ann.tap(first, "▶", "Shown 6–7")
    assert second.method == "editMessageText"
    assert [t for t, _ in second.buttons()][-2:] == ["◀", "🏠 Menu"]


async def test_web_link_language_and_menu(bot, ann: TgUser, sessionmaker) -> None:
    menu = await ann.ask("/support", "How can we help?")
    await ann.tap(menu, "My bugs", "not reported any bugs yet")
    await ann.tap(menu, "FAQ", "no questions in the FAQ yet")
    await ann.tap(menu, "Report a bug", "Step 1 of 6")
    await ann.ask("/cancel", "Cancelled")
    reply = await ann.tap(menu, "Open the web hub", "sign-in link")
    token = reply.text.rsplit("/auth/link/", 1)[1]
    assert "http://hub.test/auth/link/" in reply.text
    async with sessionmaker() as s, s.begin():
        user = await signin.redeem_login_link(s, token=token)
    assert user.telegram_id == ann.id

    choose = await ann.ask("/language", "Choose your language")
    await ann.tap(choose, "Русский", "Язык: русский.")
    await bot.settle()
    async with sessionmaker() as s:
        assert (await s.execute(select(User.language))).scalar_one() == "ru"
    await ann.ask("/bug", "Шаг 1 из 6")
    await ann.ask("/cancel", "Отменено")
