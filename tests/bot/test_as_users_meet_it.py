"""The bot as users meet it: long and emoji-heavy input, «пропустить», deep links, stale
and forged buttons, /mybugs pages and detail, adding information — in both languages,
against a stand-in that refuses what the real Bot API refuses (the conftest fails a
test on any refused request)."""

from __future__ import annotations

from sqlalchemy import select

from devops_center.integrations.telegram.text import fit_html, fit_plain, split_html, utf16_len
from devops_center.support import service as support
from devops_center.support.models import BugComment, BugLog
from devops_center.users import service as users
from devops_center.users.models import AuditLog
from tests.bot.standin import BadRequest, StandIn, TgUser, check_text


async def _long_dialog(user: TgUser, field: str, *, skip_word: str, step: str) -> object:
    await user.ask("/bug", step % 1)
    await user.ask("Emoji everywhere 😀", step % 2)
    await user.ask(field, step % 3)
    await user.ask(field, step % 4)
    await user.ask(field, step % 5)
    # the localized word skips the screenshot, typed in any case
    return await user.ask(skip_word, step % 6)


async def test_long_emoji_answers_reach_the_summary_and_are_filed(
    bot, standin: StandIn, ann: TgUser, sessionmaker
) -> None:
    # 1,400 emoji = 2,800 UTF-16 units a field: three fields do not fit one message
    field = "😀" * 1400
    prio = await _long_dialog(ann, field, skip_word="SKIP", step="Step %s of 6")
    mark = ann.mark()
    await ann.press(prio, "High")
    summary = await ann.reply("", after=mark)
    last = await standin.wait_for(
        lambda c: c.chat_id == ann.id and any("Submit" in t for t, _ in c.buttons()), after=mark
    )
    parts = [c for c in standin.sent(ann.id) if c.index >= summary.index]
    assert len(parts) >= 2 and parts[0].text.startswith("Please check your report")
    await ann.tap(last, "Submit", "Thank you")
    await bot.settle()
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
    assert bug.actual == field and bug.screenshot_key is None


async def test_russian_user_skips_with_the_russian_word(bot, sessionmaker, standin) -> None:
    olga = TgUser(standin, 5550077, lang="ru", first_name="Ольга")
    prio = await _long_dialog(olga, "Коротко", skip_word="Пропустить", step="Шаг %s из 6")
    assert "Пропустить" not in [t for t, _ in prio.buttons()]  # we are past the screenshot
    summary = await olga.tap(prio, "Низкий", "Проверьте")
    assert "нет" in summary.text  # no screenshot


async def test_field_limits_are_told(bot, ann: TgUser) -> None:
    await ann.ask("/bug", "Step 1 of 6")
    long_title = await ann.ask("t" * 250, "Step 1 of 6")
    assert "at most 200 characters (now 250)" in long_title.text
    await ann.ask("/cancel", "Cancelled")


async def test_deep_links_open_the_dialog_the_faq_and_a_bug(
    bot, standin: StandIn, ann: TgUser, sessionmaker
) -> None:
    await ann.ask("/start bug", "Step 1 of 6")
    await ann.ask("/cancel", "Cancelled")
    await ann.ask("/start faq", "no questions in the FAQ yet")
    async with sessionmaker() as s, s.begin():
        user = await users.get_by_telegram_id(s, telegram_id=ann.id)
        assert user is not None
        bug = BugLog(user_id=user.id, title="Deep <link>", what_doing="a", expected="b", actual="c")
        s.add(bug)
        other = await users.create_user(s, name="Bob", email="bob@test.local")
        theirs = BugLog(user_id=other.id, title="Secret", what_doing="a", expected="b", actual="c")
        s.add(theirs)
    detail = await ann.ask(f"/start bug_{bug.id}", f"#{bug.id}")
    assert "Deep &lt;link&gt;" in detail.text and "Open" in detail.text
    refused = await ann.ask(f"/start bug_{theirs.id}", "There is no bug")
    assert "Secret" not in refused.text
    await ann.ask("/start whatever", "Hello, Ann!")


async def test_stale_and_forged_buttons_get_a_short_notice(
    bot, standin: StandIn, ann: TgUser, sessionmaker
) -> None:
    await ann.ask("/start", "Hello")
    menu = standin.sent(ann.id)[-1]
    for data in ("mb:page:-5:0", "faq:vote:x:1", "bug:prio:zzz:critical", "nonsense", "mb:page"):
        mark = ann.mark()
        await ann.press_data(menu, data)
        answer = await standin.wait_for(
            lambda c: c.method == "answerCallbackQuery", after=mark, timeout=5
        )
        assert answer.params.get("text") == "This button is no longer active."
    # a ✖ of a finished dialog
    await ann.ask("/bug", "Step 1 of 6")
    first = standin.sent(ann.id)[-1]
    await ann.ask("/cancel", "Cancelled")
    mark = ann.mark()
    await ann.press(first, "Cancel")
    answer = await standin.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert answer.params.get("text") == "This report is no longer open."


async def test_mybugs_pages_clamp_detail_and_add_information(
    bot, standin: StandIn, ann: TgUser, sessionmaker, settings
) -> None:
    async with sessionmaker() as s, s.begin():
        user = await users.create_user(s, name="Ann", telegram_id=ann.id, language="en")
        for i in range(2):
            s.add(
                BugLog(user_id=user.id, title=f"Bug {i}", what_doing="a", expected="b", actual="c")
            )
        owner = await users.create_user(s, name="Olga", role="owner", email="o@test.local")
    async with sessionmaker() as s, s.begin():
        first = (await s.execute(select(BugLog).where(BugLog.title == "Bug 0"))).scalar_one()
        for body, internal in (("Fixed <soon>", False), ("only the team sees this", True)):
            await support.add_comment(
                s, settings=settings, bug_id=first.id, author_id=owner.id, team=True,
                data=support.CommentInput(body=body, internal=internal), source="web",
            )  # fmt: skip
    page = await ann.ask("/mybugs", "Your reports: 2 bugs. Shown 1–2")
    # a page past the end (stale, or forged) shows the last page instead of "6–5 of 2"
    mark = ann.mark()
    await ann.press_data(page, "mb:page:5:0")
    clamped = await ann.reply("Shown 1–2", after=mark)
    assert "6–" not in clamped.text
    detail = await ann.tap(clamped, "Bug 0", "History")
    assert detail.method == "editMessageText" and "<b>Comments</b>" in detail.text
    assert "<b>Team</b>" in detail.text and "Fixed &lt;soon&gt;" in detail.text
    assert "only the team sees this" not in detail.text  # an internal note stays internal
    prompt = await ann.tap(detail, "Add information", "Send what you would like to add")
    assert "4000" in prompt.text or "4,000" in prompt.text
    too_long = await ann.ask("x" * 4050, "at most 4000 characters (now 4050)")
    assert too_long.text.startswith("⚠️")
    added = await ann.ask("It also fails on Safari <17>", "It also fails on Safari &lt;17&gt;")
    assert "<b>You</b>" in added.text and f"#{first.id}" in added.text
    await bot.settle()
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog).where(BugLog.title == "Bug 0"))).scalar_one()
        comment = (
            await s.execute(select(BugComment).where(BugComment.source == "telegram"))
        ).scalar_one()
        appended = await s.scalar(select(AuditLog).where(AuditLog.action == "add_information"))
    # a comment in the bug's conversation, not text appended to the report
    assert bug.actual == "c" and appended is None
    assert comment.bug_id == bug.id and comment.author_id == bug.user_id
    assert comment.body == "It also fails on Safari <17>" and not comment.from_team


async def test_mybugs_in_russian_with_plural_forms_and_masculine_statuses(
    bot, standin: StandIn, sessionmaker
) -> None:
    ivan = TgUser(standin, 5550088, lang="ru", first_name="Иван")
    async with sessionmaker() as s, s.begin():
        user = await users.create_user(s, name="Иван", telegram_id=ivan.id, language="ru")
        s.add(BugLog(user_id=user.id, title="Один", what_doing="a", expected="b", actual="c"))
    one = await ivan.ask("/mybugs", "Ваши отчёты")
    assert "1 баг." in one.text and "Открыт" in one.text
    async with sessionmaker() as s, s.begin():
        for status in ("resolved", "closed", "in_progress", "open"):
            s.add(
                BugLog(
                    user_id=user.id, title=status, what_doing="a", expected="b", actual="c",
                    status=status,
                )
            )  # fmt: skip
    five = await ivan.ask("/mybugs", "Ваши отчёты")
    assert "5 багов." in five.text
    assert all(word in five.text for word in ("Решён", "Закрыт", "В работе", "Открыт"))
    assert not any(word in five.text for word in ("Решена", "Закрыта", "Открыта"))


def test_one_place_keeps_every_text_within_telegram_limits() -> None:
    text = "<b>Title:</b> " + "😀" * 3000 + " &amp; <i>end</i>"
    parts = split_html(text)
    assert len(parts) == 2
    for part in parts:
        check_text(part, "HTML", 4096)  # the stand-in's check, as the Bot API's
    shortened = fit_html(text)
    check_text(shortened, "HTML", 4096)
    assert shortened.endswith("…")
    check_text(fit_html("<b>" + "a" * 2000 + "</b>", 1024), "HTML", 1024, "caption")
    assert utf16_len(fit_plain("😀" * 150, 200)) <= 200
    # an unknown tag or entity is sent as text, never refused
    check_text(fit_html("a <foo> &nbsp; b"), "HTML", 4096)
    try:
        check_text("<b>cut", "HTML", 4096)
    except BadRequest:
        pass
    else:
        raise AssertionError("the stand-in must refuse an unclosed tag")


async def test_the_web_offers_the_same_deep_links(bot, as_role, ann: TgUser) -> None:
    """The running bot learnt its @username at start; /support and /support/bug link
    to ``/start bug`` and ``/start faq``, which open the dialog and the FAQ (above)."""
    web = await as_role("employee")
    hub = (await web.get("/support")).text
    assert 'href="https://t.me/dcc_test_bot?start=bug"' in hub
    assert 'href="https://t.me/dcc_test_bot?start=faq"' in hub and "Report in Telegram" in hub
    form = (await web.get("/support/bug")).text
    assert 'href="https://t.me/dcc_test_bot?start=bug"' in form
    await ann.ask("/start bug", "Step 1 of 6")
