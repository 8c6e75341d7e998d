"""Notifications and the daily digest: worker jobs talking to the stand-in Bot API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from devops_center import worker
from devops_center.db import utcnow
from devops_center.deployments.models import Deployment
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support import service as support
from devops_center.users import service as users
from devops_center.users.models import User
from tests.bot.standin import StandIn
from tests.conftest import make_settings


async def _make_due(sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))


async def _reporter_with_bug(sessionmaker, *, lang: str = "ru", priority: str = "medium"):
    async with sessionmaker() as s, s.begin():
        user = await users.create_user(s, name="Иван", telegram_id=4242, language=lang)
        filed = await support.file_bug(
            s,
            settings=make_settings("sqlite+aiosqlite:///unused", Path("/tmp")),
            reporter_id=user.id,
            report=support.BugReport("Экспорт <падает>", "Экспорт", "PDF", "Ошибка", priority),
            source="telegram",
        )
    return user, filed.bug


async def test_status_change_and_github_issue_reach_the_reporter(
    settings, sessionmaker, standin: StandIn
) -> None:
    user, bug = await _reporter_with_bug(sessionmaker)
    async with sessionmaker() as s, s.begin():
        await support.update_bug(s, bug_id=bug.id, actor_id=None, status="in_progress")
        await outbox.enqueue(
            s,
            messages.NotifyUser(
                user_id=user.id, event="bug_github_issue", bug_id=bug.id, issue_number=17
            ),
        )
    await worker.drain(settings, sessionmaker, kinds=["notify.user"])
    texts = [c.text for c in standin.sent(4242)]
    assert texts == [
        f"Статус вашего бага #{bug.id} «Экспорт &lt;падает&gt;»: В работе.",
        f"Для вашего бага #{bug.id} «Экспорт &lt;падает&gt;» создана задача на GitHub #17.",
    ]


async def test_429_waits_retry_after_and_403_marks_the_user_blocked(
    settings, sessionmaker, standin: StandIn
) -> None:
    user, bug = await _reporter_with_bug(sessionmaker, lang="en")
    standin.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    async with sessionmaker() as s, s.begin():
        await support.update_bug(s, bug_id=bug.id, actor_id=None, status="resolved")
    await worker.drain(settings, sessionmaker, kinds=["notify.user"])
    async with sessionmaker() as s:
        job = (await s.execute(select(Job).where(Job.kind == "notify.user"))).scalar_one()
    assert job.status == "pending" and "429" in (job.last_error or "")
    assert timedelta(seconds=5) < job.run_after - utcnow() <= timedelta(seconds=7)

    await _make_due(sessionmaker)
    await worker.drain(settings, sessionmaker, kinds=["notify.user"])
    assert standin.sent(4242)[-1].text.endswith("is now: Resolved.")

    standin.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    async with sessionmaker() as s, s.begin():
        await support.update_bug(s, bug_id=bug.id, actor_id=None, status="closed")
    await worker.drain(settings, sessionmaker, kinds=["notify.user"])
    async with sessionmaker() as s:
        assert (await s.get(User, user.id)).telegram_blocked
        statuses = [j.status for j in (await s.execute(select(Job).order_by(Job.id))).scalars()]
    assert "failed" not in statuses
    # a blocked user is not tried again
    calls = len(standin.calls)
    async with sessionmaker() as s, s.begin():
        await support.update_bug(s, bug_id=bug.id, actor_id=None, status="open")
    await worker.drain(settings, sessionmaker, kinds=["notify.user"])
    assert len(standin.calls) == calls


async def test_admin_chat_alerts(settings, sessionmaker, standin: StandIn) -> None:
    _user, bug = await _reporter_with_bug(sessionmaker, priority="critical")
    async with sessionmaker() as s, s.begin():
        now = utcnow()
        dep = Deployment(
            commit_sha="abcdef1234567890",
            started_at=now - timedelta(minutes=3),
            completed_at=now,
            status="failed",
            duration_seconds=185,
            service="web",
            tests_passed=120,
            tests_failed=2,
        )
        s.add(dep)
        await s.flush()
        await outbox.enqueue(
            s, messages.NotifyAdmins(event="deployment_finished", deployment_id=dep.id)
        )
    await worker.drain(settings, sessionmaker, kinds=["notify.admin"])
    sent = standin.sent(settings.telegram_chat_id)
    texts = [c.text for c in sent]
    assert texts[0] == (
        f"🚨 New critical bug #{bug.id}: Экспорт &lt;падает&gt; (reported by Иван)."
    )
    assert texts[1].startswith("❌ Deployment of web abcdef1 to production failed.")
    assert "Tests: 120 passed, 2 failed." in texts[1]
    # links to the pages as URL buttons
    assert sent[0].buttons() == [("Open the bug", f"http://hub.test/admin/bugs/{bug.id}")]
    assert sent[1].buttons() == [
        ("Open the deployment", f"http://hub.test/admin/deployments/{dep.id}")
    ]


async def test_alerts_in_the_chats_language_and_the_down_alert_edited_on_recovery(
    settings, sessionmaker, standin: StandIn
) -> None:
    from devops_center.incidents.models import Incident
    from devops_center.notify.models import SentAlert

    ru_chat = settings.model_copy(update={"telegram_chat_id": 906})
    private = settings.model_copy(update={"telegram_chat_id": 907, "base_url": "http://10.0.0.5"})
    async with sessionmaker() as s, s.begin():
        await users.create_user(s, name="Olga", role="owner", telegram_id=906, language="ru")
        opened = utcnow() - timedelta(minutes=7)
        incident = Incident(title="web is down", source="check", source_ref="web", opened_at=opened)
        s.add(incident)
        await s.flush()
        await outbox.enqueue(
            s,
            messages.NotifyAdmins(
                event="check_down", check_name="web", incident_id=incident.id, message="HTTP 502"
            ),
        )
    await worker.drain(ru_chat, sessionmaker, kinds=["notify.admin"])
    down = standin.sent(906)[-1]
    assert down.text == "🔴 web НЕДОСТУПЕН.\nHTTP 502"
    assert down.buttons() == [("Открыть страницу статуса", "http://hub.test/admin/status")]
    async with sessionmaker() as s, s.begin():
        row = await s.get(Incident, incident.id)
        row.resolved_at = utcnow()
        await outbox.enqueue(
            s, messages.NotifyAdmins(event="check_up", check_name="web", incident_id=incident.id)
        )
    await worker.drain(ru_chat, sessionmaker, kinds=["notify.admin"])
    edit = standin.sent(906, method="editMessageText")[-1]
    assert int(edit.params["message_id"]) == down.result["message_id"]
    assert edit.text.startswith("🟢 web снова работает")
    assert len(standin.sent(906)) == 1  # no second message
    async with sessionmaker() as s:
        assert await s.get(SentAlert, f"check:{incident.id}") is None
    # a hub on a private address: the link goes in the text (Telegram refuses the button)
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(
            s, messages.NotifyAdmins(event="check_down", check_name="db", message="timeout")
        )
    await worker.drain(private, sessionmaker, kinds=["notify.admin"])
    alert = standin.sent(907)[-1]
    assert alert.buttons() == [] and alert.text.endswith("http://10.0.0.5/admin/status")


async def test_morning_digest_once_per_day_to_admins_who_opted_in(
    settings, sessionmaker, standin: StandIn
) -> None:
    async with sessionmaker() as s, s.begin():
        await users.create_user(s, name="Olga", role="owner", telegram_id=901, language="ru")
        off = await users.create_user(s, name="Sam", role="superadmin", telegram_id=902)
        off.digest_opt_in = False
        await users.create_user(s, name="Emp", role="employee", telegram_id=903)
    before = datetime(2026, 11, 28, 8, 59, tzinfo=UTC)
    assert await worker.schedule_periodic(settings, sessionmaker, now=before) >= 0
    async with sessionmaker() as s:
        kinds = [j.kind for j in (await s.execute(select(Job))).scalars()]
    assert "notify.digest" not in kinds
    at_nine = datetime(2026, 11, 28, 9, 0, 5, tzinfo=UTC)
    # two schedulers (two workers) at the same moment and a later one: one digest job
    for now in (at_nine, at_nine, at_nine + timedelta(minutes=30)):
        await worker.schedule_periodic(settings, sessionmaker, now=now)
    await worker.drain(settings, sessionmaker, kinds=["notify.digest", "notify.user"])
    await worker.drain(settings, sessionmaker, kinds=["notify.digest", "notify.user"])
    digests = [c for c in standin.sent() if "Утренний обзор" in c.text or "Morning" in c.text]
    assert [c.chat_id for c in digests] == [901]
    assert digests[0].text.startswith("🌅 Утренний обзор")
    # the next day it is due again
    await worker.schedule_periodic(settings, sessionmaker, now=at_nine + timedelta(days=1))
    async with sessionmaker() as s:
        n = len([j for j in (await s.execute(select(Job))).scalars() if j.kind == "notify.digest"])
    assert n == 2


async def test_fetch_photo_refuses_a_file_that_is_not_an_image(
    settings, sessionmaker, standin: StandIn
) -> None:
    _user, bug = await _reporter_with_bug(sessionmaker)
    standin.files["bad"] = b"%PDF-1.4 not an image"
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.FetchBugPhoto(bug_id=bug.id, file_id="bad"))
    await worker.drain(settings, sessionmaker, kinds=["telegram.fetch_photo"])
    async with sessionmaker() as s:
        job = (await s.execute(select(Job).where(Job.kind == "telegram.fetch_photo"))).scalar_one()
        stored = await s.get(type(bug), bug.id)
    assert job.status == "failed" and "must be a PNG, JPEG or WebP" in (job.last_error or "")
    assert stored.screenshot_key is None
    assert not settings.uploads_path.exists() or not any(settings.uploads_path.iterdir())


async def test_a_photo_stored_after_the_issue_is_commented_on_the_issue_once(
    db_url, tmp_path, sessionmaker, standin: StandIn
) -> None:
    from tests.bot.test_bug_dialog import png_bytes
    from tests.conftest import make_settings
    from tests.github.standin import StandIn as GithubStandIn

    github = GithubStandIn().start()
    try:
        settings = make_settings(
            db_url,
            tmp_path,
            telegram_bot_token=standin.token,
            telegram_api_url=standin.url,
            github_token="test-token",
            github_repo=github.repo,
            github_api_url=github.url,
            base_url="https://dcc.example.org",
        )
        _user, bug = await _reporter_with_bug(sessionmaker)
        standin.files["shot-9"] = png_bytes()
        async with sessionmaker() as s, s.begin():  # as the bot's Submit does
            await outbox.enqueue(s, messages.FetchBugPhoto(bug_id=bug.id, file_id="shot-9"))
        # The issue job runs first: the issue is opened without the screenshot.
        assert await worker.drain(settings, sessionmaker, kinds=["github.create_issue"]) == 1
        assert "Screenshot" not in github.issues[1]["body"]
        await worker.drain(settings, sessionmaker, kinds=["telegram.fetch_photo"])
        assert await worker.drain(settings, sessionmaker, kinds=["github.add_screenshot"]) == 1
        link = f"https://dcc.example.org/support/bugs/{bug.id}/screenshot"
        assert [link in c["body"] for c in github.comments[1]] == [True]
        # A repeated run (say the worker died before recording success) adds nothing.
        async with sessionmaker() as s, s.begin():
            await s.execute(
                update(Job).where(Job.kind == "github.add_screenshot").values(status="pending")
            )
        await worker.drain(settings, sessionmaker, kinds=["github.add_screenshot"])
        assert len(github.comments[1]) == 1
    finally:
        github.stop()


async def test_a_role_change_sets_that_chats_commands_while_the_bot_runs(
    settings, sessionmaker, standin: StandIn
) -> None:
    async with sessionmaker() as s, s.begin():
        user = await users.create_user(s, name="Olga", telegram_id=905, language="ru")
    async with sessionmaker() as s, s.begin():
        await users.set_role(s, user_id=user.id, role="superadmin", actor_id=None)
    await worker.drain(settings, sessionmaker, kinds=["notify.chat_commands"])
    call = standin.sent(method="setMyCommands")[-1]
    assert call.params["scope"] == {"type": "chat", "chat_id": 905}
    names = [c["command"] for c in call.params["commands"]]
    assert {"morning", "devops", "digest"} <= set(names)
    assert call.params["commands"][0]["description"] == "Начать и показать меню"
    async with sessionmaker() as s, s.begin():
        await users.set_role(s, user_id=user.id, role="employee", actor_id=None)
        await users.set_language(s, user_id=user.id, language="en")
    await worker.drain(settings, sessionmaker, kinds=["notify.chat_commands"])
    call = standin.sent(method="setMyCommands")[-1]
    assert "devops" not in [c["command"] for c in call.params["commands"]]
    assert call.params["commands"][0]["description"] == "Start and show the menu"


async def test_the_reporter_is_told_when_the_photo_cannot_be_fetched(
    settings, sessionmaker, standin: StandIn
) -> None:
    _user, bug = await _reporter_with_bug(sessionmaker)  # Russian
    async with sessionmaker() as s, s.begin():  # a file_id Telegram no longer has
        await outbox.enqueue(s, messages.FetchBugPhoto(bug_id=bug.id, file_id="gone"))
    standin.fail_next("getFile", 400, "Bad Request: invalid file_id")
    await worker.drain(settings, sessionmaker, kinds=["telegram.fetch_photo"])
    await worker.drain(settings, sessionmaker, kinds=["notify.user"])
    told = standin.sent(4242)[-1].text
    assert f"#{bug.id}" in told and "без скриншота" in told


async def test_a_merged_duplicates_reporter_is_told_and_follows_the_original(
    settings, sessionmaker, standin: StandIn
) -> None:
    from devops_center.support import duplicates

    _user, dup = await _reporter_with_bug(sessionmaker)  # Russian, telegram 4242
    async with sessionmaker() as s, s.begin():
        other = await users.create_user(s, name="Ann", telegram_id=4343, language="en")
        original = (
            await support.file_bug(
                s,
                settings=make_settings("sqlite+aiosqlite:///unused", Path("/tmp")),
                reporter_id=other.id,
                report=support.BugReport("Ann's secret text", "a", "b", "c", "medium"),
                source="telegram",
            )
        ).bug
        await support.set_public_summary(
            s, bug_id=original.id, summary="PDF export fails", actor_id=None
        )
        await duplicates.merge(s, bug_id=dup.id, original_id=original.id, actor_id=None)
        await support.update_bug(s, bug_id=original.id, actor_id=None, status="resolved")
    await worker.drain(settings, sessionmaker, kinds=["notify.user"])
    texts = [c.text for c in standin.sent(4242)]
    assert texts == [
        f"О вашем баге #{dup.id} «Экспорт &lt;падает&gt;» уже сообщали как о баге "
        f"#{original.id}: они объединены, и я напишу здесь, когда статус того бага изменится.",
        f"Баг #{original.id}, который повторяет ваше сообщение, теперь: Решён. (PDF export fails)",
    ]
    assert not any("secret" in t for t in texts)
    assert [c.text for c in standin.sent(4343)] == [
        f"Your bug #{original.id} “Ann's secret text” is now: Resolved."
    ]
