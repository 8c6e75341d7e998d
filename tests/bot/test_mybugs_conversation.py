"""/mybugs as the reporter's side of a bug's conversation, through the Telegram stand-in:
"Add information" is a comment like one written on the web (on the bug's page, on its
way to the GitHub issue, the assignee told), and the reporter closes their own bug after
confirming (the GitHub issue to be closed by the worker)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy import select

from devops_center import worker
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support.models import BugComment, BugLog
from devops_center.users import service as users
from devops_center.users.models import AuditLog
from tests.bot.standin import StandIn, TgUser
from tests.conftest import PASSWORD, login


async def _jobs(sessionmaker: Any, kind: str) -> list[dict[str, Any]]:
    async with sessionmaker() as s:
        return [dict(j.payload) for j in await s.scalars(select(Job).where(Job.kind == kind))]


async def _reporter_and_bug(sessionmaker: Any, tg: TgUser, lang: str = "en") -> tuple[int, int]:
    async with sessionmaker() as s, s.begin():
        ann = await users.create_user(
            s,
            name="Ann",
            telegram_id=tg.id,
            language=lang,
            email="ann@test.local",
            password=PASSWORD,
        )
        dev = await users.create_user(s, name="Dev", role="owner", email="dev@test.local")
        bug = BugLog(
            user_id=ann.id,
            title="Export fails",
            what_doing="Exporting",
            expected="A PDF",
            actual="An error",
            github_issue_number=42,
            assigned_to=dev.id,
        )
        s.add(bug)
        await s.flush()
        return ann.id, bug.id


async def test_added_information_is_a_comment_on_the_web_and_on_its_way_to_github(
    bot, standin: StandIn, ann: TgUser, sessionmaker, make_client
) -> None:
    ann_id, bug_id = await _reporter_and_bug(sessionmaker, ann)
    page = await ann.ask("/mybugs", "Your reports")
    detail = await ann.tap(page, "Export fails", "History")
    prompt = await ann.tap(detail, "Add information", "Send what you would like to add")
    assert "conversation" in prompt.text
    mark = ann.mark()
    await ann.send_text("It fails only for <b>big</b> files & PDFs")
    await ann.reply(f"Added to bug #{bug_id}", after=mark)
    shown = await ann.reply("big&lt;/b&gt; files &amp; PDFs", after=mark)
    assert "<b>You</b>" in shown.text and "Close my bug" in str(shown.buttons())
    await bot.settle()

    async with sessionmaker() as s:
        (comment,) = list(await s.scalars(select(BugComment)))
        bug = await s.get(BugLog, bug_id)
    assert comment.author_id == ann_id and comment.source == "telegram"
    assert not comment.from_team and not comment.internal
    assert comment.body == "It fails only for <b>big</b> files & PDFs"
    assert bug is not None and bug.actual == "An error"  # the report itself is unchanged
    # the worker posts it on the issue, and the assignee hears of it, as for the web
    posts = await _jobs(sessionmaker, messages.PostGithubComment.kind)
    assert posts == [{"comment_id": comment.id}]
    told = await _jobs(sessionmaker, messages.NotifyUser.kind)
    assert [(j["event"], j["comment_id"]) for j in told] == [("bug_comment", comment.id)]

    web = make_client()
    assert (await login(web, "ann@test.local")).status_code == 303
    html = (await web.get(f"/support/bugs/{bug_id}")).text
    assert "It fails only for &lt;b&gt;big&lt;/b&gt; files &amp; PDFs" in html


async def test_refusals_are_told_and_nothing_is_stored(
    bot, standin: StandIn, ann: TgUser, sessionmaker
) -> None:
    await _reporter_and_bug(sessionmaker, ann, lang="ru")
    page = await ann.ask("/mybugs", "Ваши отчёты")
    detail = await ann.tap(page, "Export fails", "История")
    await ann.tap(detail, "Дополнить", "до 4000 символов")
    long = await ann.ask("я" * 4001, "не больше 4000 символов (сейчас 4001)")
    assert long.text.startswith("⚠️")
    async with sessionmaker() as s:
        assert list(await s.scalars(select(BugComment))) == []
    # still in the dialog: the next text is taken
    await ann.ask("Теперь коротко", "Добавлено к багу")
    async with sessionmaker() as s:
        assert [c.body for c in await s.scalars(select(BugComment))] == ["Теперь коротко"]


async def test_the_reporter_closes_their_bug_after_confirming(
    bot, standin: StandIn, ann: TgUser, sessionmaker
) -> None:
    ann_id, bug_id = await _reporter_and_bug(sessionmaker, ann)
    page = await ann.ask("/mybugs", "Your reports")
    detail = await ann.tap(page, "Export fails", "History")
    ask = await ann.tap(detail, "Close my bug", f"Close bug #{bug_id}?")
    back = await ann.tap(ask, "Back", "History")  # changed their mind: nothing happened
    async with sessionmaker() as s:
        bug = await s.get(BugLog, bug_id)
        assert bug is not None and bug.status == "open"
    ask = await ann.tap(back, "Close my bug", f"Close bug #{bug_id}?")
    mark = ann.mark()
    await ann.press(ask, "Yes, close it")
    closed = await ann.reply("Closed", after=mark)
    assert "Close my bug" not in str(closed.buttons())
    answer = await standin.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "text" in c.params, after=mark
    )
    assert answer.params["text"] == f"Bug #{bug_id} is closed."
    await bot.settle()
    async with sessionmaker() as s:
        bug = await s.get(BugLog, bug_id)
        audit = (
            await s.scalars(select(AuditLog).where(AuditLog.entity == "bug").order_by(AuditLog.id))
        ).all()
    assert bug is not None and bug.status == "closed" and bug.resolved_at is not None
    assert audit[-1].actor_id == ann_id and '"via": "telegram"' in (audit[-1].details or "")
    kind = messages.CloseGithubIssueByReporter.kind
    assert await _jobs(sessionmaker, kind) == [{"bug_id": bug_id}]
    # a stale confirm button closes nothing twice
    mark = ann.mark()
    await ann.press(ask, "Yes, close it")
    again = await standin.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "text" in c.params, after=mark
    )
    assert again.params["text"] == f"Bug #{bug_id} is closed."
    await bot.settle()
    assert await _jobs(sessionmaker, kind) == [{"bug_id": bug_id}]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


async def _add_prompt(ann: TgUser) -> None:
    page = await ann.ask("/mybugs", "Your reports")
    detail = await ann.tap(page, "Export fails", "History")
    prompt = await ann.tap(detail, "Add information", "or a photo (up to 5 MB)")
    assert "4000 characters" in prompt.text


async def test_a_photo_with_its_caption_becomes_a_comment_with_an_image(
    bot, standin: StandIn, ann: TgUser, sessionmaker, settings, make_client
) -> None:
    ann_id, bug_id = await _reporter_and_bug(sessionmaker, ann)
    await _add_prompt(ann)
    mark = ann.mark()
    await ann.send_photo("shot-7", _png(), caption="The error dialog")
    await ann.reply(f"The photo is being added to bug #{bug_id}", after=mark)
    await bot.settle()
    fetch = messages.FetchCommentPhoto.kind
    (job,) = await _jobs(sessionmaker, fetch)
    assert (job["bug_id"], job["author_id"], job["file_id"], job["caption"]) == (
        bug_id,
        ann_id,
        "shot-7",
        "The error dialog",
    )
    # the worker fetches it from the stand-in and adds it as the web adds an image
    assert await worker.drain(settings, sessionmaker, kinds=[fetch]) == 1
    async with sessionmaker() as s:
        (comment,) = list(await s.scalars(select(BugComment)))
    assert comment.body == "The error dialog" and comment.attachment_key
    assert comment.author_id == ann_id and comment.source == "telegram"
    assert await _jobs(sessionmaker, messages.PostGithubComment.kind) == [
        {"comment_id": comment.id}
    ]
    # run again (a crash after the commit): still one comment
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.FetchCommentPhoto(**job))
    await worker.drain(settings, sessionmaker, kinds=[fetch])
    async with sessionmaker() as s:
        assert len(list(await s.scalars(select(BugComment)))) == 1

    web = make_client()
    assert (await login(web, "ann@test.local")).status_code == 303
    html = (await web.get(f"/support/bugs/{bug_id}")).text
    image = f"/support/bugs/{bug_id}/comments/{comment.id}/attachment"
    assert "The error dialog" in html and image in html
    assert (await web.get(image)).headers["content-type"] == "image/png"


async def test_a_photo_that_cannot_be_fetched_is_said(
    bot, standin: StandIn, ann: TgUser, sessionmaker, settings
) -> None:
    _ann_id, bug_id = await _reporter_and_bug(sessionmaker, ann)
    await _add_prompt(ann)
    mark = ann.mark()
    await ann.send_photo("gone-1", caption="See the photo")
    await ann.reply("The photo is being added", after=mark)
    await _add_prompt(ann)
    mark = ann.mark()
    await ann.send_photo("gone-2")  # no caption: nothing to add at all
    await ann.reply("The photo is being added", after=mark)
    await bot.settle()
    for _ in range(2):  # what the Bot API answers for a file it no longer has
        standin.fail_next(
            "getFile", 400, "Bad Request: wrong file_id or the file is temporarily unavailable"
        )
    await worker.drain(settings, sessionmaker, kinds=[messages.FetchCommentPhoto.kind])
    async with sessionmaker() as s:
        (comment,) = list(await s.scalars(select(BugComment)))
    assert comment.body == "See the photo" and comment.attachment_key is None
    mark = ann.mark()
    await worker.drain(settings, sessionmaker, kinds=[messages.NotifyUser.kind])
    told = [c.text for c in standin.sent(ann.id) if c.index >= mark]
    assert len(told) == 2 and all("could not be fetched from Telegram" in t for t in told)
    assert any("your message was added without it" in t for t in told)
    assert any("nothing was added" in t for t in told)
    assert all(f"#{bug_id}" in t for t in told)


async def test_a_photo_too_large_is_refused_at_once(
    bot, standin: StandIn, ann: TgUser, sessionmaker
) -> None:
    await _reporter_and_bug(sessionmaker, ann, lang="ru")
    page = await ann.ask("/mybugs", "Ваши отчёты")
    detail = await ann.tap(page, "Export fails", "История")
    await ann.tap(detail, "Дополнить", "или фото (до 5 МБ)")
    mark = ann.mark()
    await ann.send_photo("huge", size=6 * 1024 * 1024)
    await ann.reply("⚠️ Это фото больше 5 МБ.", after=mark)
    await bot.settle()
    assert await _jobs(sessionmaker, messages.FetchCommentPhoto.kind) == []
