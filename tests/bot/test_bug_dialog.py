"""The /bug dialog end to end: real updates over long polling from the stand-in server."""

from __future__ import annotations

import asyncio
import io

from PIL import Image
from sqlalchemy import func, select

from devops_center import worker
from devops_center.outbox.models import Job
from devops_center.support.models import BugLog
from devops_center.users.models import User
from tests.bot.standin import StandIn, TgUser


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


async def test_full_dialog_with_photo_and_double_submit(
    bot, standin: StandIn, ann: TgUser, settings, sessionmaker
) -> None:
    start = await ann.ask("/start", "Hello, Ann!")
    assert [t for t, _ in start.buttons()][:1] == ["🐞 Report a bug"]

    await ann.ask("/bug", "Step 1 of 6")
    # invalid input repeats the step with a clear message
    again = await ann.ask("x", "Step 1 of 6")
    assert "at least 3 characters" in again.text
    too_long = await ann.ask("t" * 201, "Step 1 of 6")
    assert "at most 200 characters" in too_long.text
    await ann.ask("Export <b>crashes</b>", "Step 2 of 6")

    mark = ann.mark()
    await ann.send_photo("not-now", png_bytes())
    wrong_type = await ann.reply("Step 2 of 6", after=mark)
    assert "Please answer with text" in wrong_type.text

    await ann.ask("Exporting the March schedule", "Step 3 of 6")
    await ann.ask("A PDF file", "Step 4 of 6")
    shot_step = await ann.ask("A blank page & an error", "Step 5 of 6")
    assert any(d.startswith("bug:skip:") for _, d in shot_step.buttons())

    not_photo = await ann.ask("here it is", "Step 5 of 6")
    assert "Please send a photo or press Skip" in not_photo.text
    mark = ann.mark()
    await ann.send_photo("huge-photo", size=6 * 1024 * 1024)
    too_big = await ann.reply("Step 5 of 6", after=mark)
    assert "larger than 5 MB" in too_big.text

    mark = ann.mark()
    await ann.send_photo("shot-1", png_bytes())
    prio = await ann.reply("Step 6 of 6", after=mark)
    wrong = await ann.ask("high please", "Step 6 of 6")
    assert "choose a priority with a button" in wrong.text.lower()
    summary = await ann.tap(prio, "High", "Please check your report")
    # user text is HTML-escaped in the summary
    assert "Export &lt;b&gt;crashes&lt;/b&gt;" in summary.text
    assert "A blank page &amp; an error" in summary.text
    assert "attached" in summary.text and "High" in summary.text

    # double tap on Submit: two callback updates queued back to back → one bug
    mark = ann.mark()
    await ann.press(summary, "Submit")
    await ann.press(summary, "Submit")
    thanks = await ann.reply("Thank you", after=mark)
    await standin.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and "Already sent as bug" in c.params.get("text", "")
        ),
        after=mark,
    )
    await bot.settle()

    async with sessionmaker() as s:
        bugs = list((await s.execute(select(BugLog))).scalars())
        assert len(bugs) == 1
        bug = bugs[0]
        assert f"bug #{bug.id}" in thanks.text
        assert bug.title == "Export <b>crashes</b>"
        assert (bug.what_doing, bug.expected, bug.actual) == (
            "Exporting the March schedule",
            "A PDF file",
            "A blank page & an error",
        )
        assert bug.priority == "high" and bug.source == "telegram" and bug.status == "open"
        user = await s.get(User, bug.user_id)
        assert user.telegram_id == ann.id and user.name == "Ann" and user.role == "employee"
        jobs = {j.kind: j.payload for j in (await s.execute(select(Job))).scalars()}
    assert jobs["github.create_issue"] == {"bug_id": bug.id}
    assert jobs["telegram.fetch_photo"] == {"bug_id": bug.id, "file_id": "shot-1"}
    assert len([c for c in standin.sent(ann.id) if "Thank you" in c.text]) == 1

    # the worker fetches the photo through getFile + the file URL and stores it
    assert await worker.drain(settings, sessionmaker, kinds=["telegram.fetch_photo"]) == 1
    async with sessionmaker() as s:
        bug = await s.get(BugLog, bug.id)
    assert bug.screenshot_key and bug.screenshot_url == f"/support/bugs/{bug.id}/screenshot"
    assert (settings.uploads_path / bug.screenshot_key).read_bytes() == png_bytes()
    assert standin.sent(method="getFile")[0].params["file_id"] == "shot-1"


async def advance(user: TgUser, steps: int) -> None:
    """Answer the first ``steps`` steps of /bug with valid input (skip the photo)."""
    answers = ["Login fails", "Signing in", "The dashboard", "An error 500"]
    last = await user.ask("/bug", "Step 1 of 6")
    for i in range(steps):
        if i < 4:
            last = await user.ask(answers[i], f"Step {i + 2} of 6")
        elif i == 4:
            last = await user.tap(last, "Skip", "Step 6 of 6")
        elif i == 5:
            last = await user.tap(last, "Medium", "Please check your report")


async def test_cancel_works_at_every_step(bot, ann: TgUser, sessionmaker) -> None:
    await ann.ask("/start", "Hello")
    for steps in range(7):
        await advance(ann, steps)
        await ann.ask("/cancel", "Cancelled. Nothing was sent.")
        # the dialog is gone: plain text is a question for the support brain
        await ann.ask("hello", "do not know the answer yet")
    await ann.ask("/cancel", "There is nothing to cancel")
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BugLog)) == 0


async def test_edit_from_summary_and_cancel_button(bot, ann: TgUser, sessionmaker) -> None:
    await advance(ann, 6)
    summary = ann.standin.sent(ann.id)[-1]
    menu = await ann.tap(summary, "Edit", "What would you like to change?")
    await ann.tap(menu, "Title", "Step 1 of 6")
    summary = await ann.ask("Login fails on Safari", "Please check your report")
    assert "Login fails on Safari" in summary.text
    await ann.tap(summary, "Cancel", "Cancelled. Nothing was sent.")
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BugLog)) == 0


async def test_dialog_survives_a_bot_restart(bot, ann: TgUser, sessionmaker) -> None:
    await ann.ask("/bug", "Step 1 of 6")
    await ann.ask("Restart-proof bug", "Step 2 of 6")
    await bot.stop()
    await bot.start()  # a new Dispatcher, the same storage (database or Redis)
    await ann.ask("Doing things", "Step 3 of 6")
    await ann.ask("Things to work", "Step 4 of 6")
    skip = await ann.ask("They did not", "Step 5 of 6")
    prio = await ann.tap(skip, "Skip", "Step 6 of 6")
    summary = await ann.tap(prio, "Low", "Please check your report")
    await ann.tap(summary, "Submit", "Thank you")
    await bot.settle()
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
    assert bug.title == "Restart-proof bug" and bug.priority == "low"


async def test_rate_limit_is_checked_when_the_dialog_starts(
    bot, ann: TgUser, settings, sessionmaker
) -> None:
    limit = settings.bug_rate_limit_per_hour
    async with sessionmaker() as s, s.begin():
        from devops_center.users import service as users

        user = await users.create_user(s, name="Ann", telegram_id=ann.id, language="en")
        for i in range(limit - 1):
            s.add(
                BugLog(user_id=user.id, title=f"bug {i}", what_doing="a", expected="b", actual="c")
            )
    await advance(ann, 6)  # one more is allowed
    await ann.tap(ann.standin.sent(ann.id)[-1], "Submit", "Thank you")
    # over the limit: refused at /bug, before any step is filled
    refused = await ann.ask("/bug", "in the last hour")
    assert f"You have sent {limit} reports in the last hour" in refused.text
    assert "Step 1 of 6" not in refused.text
    await ann.ask("some text", "do not know the answer yet")  # no dialog: a question
    ru = TgUser(ann.standin, ann.id, lang="ru")
    async with sessionmaker() as s, s.begin():
        await users.set_language(s, user_id=user.id, language="ru")
    refused = await ru.ask("/bug", "последний час")
    assert f"вы отправили {limit} отчётов" in refused.text
    await bot.settle()
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BugLog)) == limit


async def test_concurrent_dialogs_each_file_one_bug(bot, standin: StandIn, sessionmaker) -> None:
    """A small smoke of bench/bot.py: several users at once (SQLite: updates take turns)."""
    people = [TgUser(standin, 7_000_000 + i, first_name=f"U{i}") for i in range(8)]

    async def dialog(user: TgUser) -> None:
        await advance(user, 6)
        await user.tap(standin.sent(user.id)[-1], "Submit", "Thank you")

    await asyncio.gather(*(dialog(p) for p in people))
    await bot.settle()
    async with sessionmaker() as s:
        owners = list(
            (
                await s.execute(select(User.telegram_id).join(BugLog, BugLog.user_id == User.id))
            ).scalars()
        )
    assert sorted(owners) == [p.id for p in people]
