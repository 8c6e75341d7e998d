"""The conversation mirrored both ways, against the GitHub and Telegram stand-ins: a
reporter's comment reaches the bug's issue once (also one written before the issue
existed, also after a crash), our own comments never come back, and a team reply on
GitHub reaches the reporter on the web and in Telegram in their language."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from devops_center import worker
from devops_center.config import Settings
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support import service as support
from devops_center.support.models import BugComment
from devops_center.users import service as users
from devops_center.users.models import User
from tests.bot.standin import StandIn as TelegramStandIn
from tests.github.conftest import REPO, file_bug, github_settings
from tests.github.standin import StandIn
from tests.github.test_webhooks import deliver, fixture

TG_ID = 777001


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    server = TelegramStandIn()
    await server.start()
    yield server
    await server.stop()
    assert not [(c.method, c.result["description"]) for c in server.refused]


@pytest.fixture
def both(db_url: str, tmp_path: Path, standin: StandIn, telegram: TelegramStandIn) -> Settings:
    """The worker's settings: GitHub and Telegram both on (their stand-ins)."""
    return github_settings(
        db_url,
        tmp_path,
        standin,
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram.url,
    )


async def _reporter(sessionmaker: Any, *, lang: str = "ru") -> User:
    async with sessionmaker() as s, s.begin():
        return await users.create_user(
            s, name="Мария", email="maria@test.local", telegram_id=TG_ID, language=lang
        )


async def _comment(sessionmaker: Any, settings: Settings, bug_id: int, author: int, body: str):
    async with sessionmaker() as s, s.begin():
        added = await support.add_comment(
            s,
            settings=settings,
            bug_id=bug_id,
            author_id=author,
            team=False,
            data=support.CommentInput(body=body),
            source="web",
        )
        return added.comment


async def _comments(sessionmaker: Any) -> list[BugComment]:
    async with sessionmaker() as s:
        return list(await s.scalars(select(BugComment).order_by(BugComment.id)))


def _human_comment(number: int, comment_id: int, body: str, action: str = "created") -> Any:
    payload = copy.deepcopy(fixture("issue_comment.created.payload.json"))
    payload["action"] = action
    payload["repository"]["full_name"] = REPO
    payload["issue"]["number"] = number
    payload["comment"]["id"] = comment_id
    payload["comment"]["body"] = body
    payload["comment"]["user"]["login"] = "octo-dev"
    return payload


async def test_a_reporters_comment_reaches_the_issue_once(
    both: Settings, sessionmaker: Any, standin: StandIn, client: httpx.AsyncClient
) -> None:
    maria = await _reporter(sessionmaker)
    bug = await file_bug(sessionmaker, maria.id)
    # Written before the worker opened the issue: posted once the issue exists.
    early = await _comment(sessionmaker, both, bug.id, maria.id, "Also on the tablet")
    await worker.drain(both, sessionmaker, kinds=[messages.CreateGithubIssue.kind])
    await worker.drain(both, sessionmaker, kinds=[messages.PostGithubComment.kind])
    (number,) = list(standin.issues)
    posted = standin.comments[number]
    assert len(posted) == 1 and "Also on the tablet" in posted[0]["body"]
    assert "**Мария** (reporter) wrote in dcc:" in posted[0]["body"]
    assert f"<!-- dcc-comment:{early.id} -->" in posted[0]["body"]

    later = await _comment(sessionmaker, both, bug.id, maria.id, "And on the phone")
    await worker.drain(both, sessionmaker, kinds=[messages.PostGithubComment.kind])
    assert len(standin.comments[number]) == 2
    # A run that crashed after GitHub's answer (the id never stored) finds its marker.
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(BugComment).where(BugComment.id == later.id).values(github_comment_id=None)
        )
        await outbox.enqueue(s, messages.PostGithubComment(comment_id=later.id))
    await worker.drain(both, sessionmaker, kinds=[messages.PostGithubComment.kind])
    assert len(standin.comments[number]) == 2
    stored = await _comments(sessionmaker)
    assert [c.github_comment_id for c in stored] == [c["id"] for c in standin.comments[number]]

    # GitHub tells us about our own comments: they never come back as replies.
    for github_comment in standin.comments[number]:
        own = _human_comment(number, github_comment["id"], github_comment["body"])
        own["comment"]["user"]["login"] = standin.login
        assert (await deliver(client, "issue_comment", own)).status_code == 202
    await worker.drain(both, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])
    assert len(await _comments(sessionmaker)) == 2

    # An internal note never goes to GitHub.
    async with sessionmaker() as s, s.begin():
        owner = await users.create_user(s, name="Olga", email="olga@test.local", role="owner")
        await support.add_comment(
            s,
            settings=both,
            bug_id=bug.id,
            author_id=owner.id,
            team=True,
            data=support.CommentInput(body="Flaky CDN", internal=True),
            source="web",
        )
    await worker.drain(both, sessionmaker, kinds=[messages.PostGithubComment.kind])
    assert len(standin.comments[number]) == 2


async def test_a_reply_on_github_reaches_the_reporter_in_their_language(
    both: Settings,
    sessionmaker: Any,
    standin: StandIn,
    telegram: TelegramStandIn,
    client: httpx.AsyncClient,
) -> None:
    maria = await _reporter(sessionmaker, lang="ru")
    bug = await file_bug(sessionmaker, maria.id, title="Экспорт <PDF> падает")
    await worker.drain(both, sessionmaker, kinds=[messages.CreateGithubIssue.kind])
    (number,) = list(standin.issues)
    await worker.drain(both, sessionmaker, kinds=["notify.user"])  # "issue created"
    before = len(telegram.sent(TG_ID))

    reply = _human_comment(number, 9001, "Fixed in 2.4.1 — please update & retry")
    assert (await deliver(client, "issue_comment", reply)).status_code == 202
    # The same comment in another delivery (another body, so not caught at the door).
    again = copy.deepcopy(reply)
    again["sender"]["login"] = "someone-else"
    assert (await deliver(client, "issue_comment", again)).status_code == 202
    await worker.drain(both, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])
    (mirrored,) = await _comments(sessionmaker)
    assert mirrored.source == "github" and mirrored.github_login == "octo-dev"
    assert mirrored.from_team and not mirrored.internal
    await worker.drain(both, sessionmaker, kinds=["notify.user"])
    texts = [c.text for c in telegram.sent(TG_ID)][before:]
    assert texts == [
        f"Ответ от octo-dev по вашему багу #{bug.id} «Экспорт &lt;PDF&gt; падает»:\n\n"
        "Fixed in 2.4.1 — please update &amp; retry"
    ]
    # ...and on the web, on the bug's page.
    async with sessionmaker() as s:
        items = await support.timeline(s, bug_id=bug.id, viewer_id=maria.id, team=False)
    assert [i.kind for i in items] == ["filed", "comment"]
    # A reply from GitHub is never posted back there.
    await worker.drain(both, sessionmaker, kinds=[messages.PostGithubComment.kind])
    assert standin.comments.get(number, []) == []

    edited = _human_comment(number, 9001, "Fixed in 2.4.2", action="edited")
    await deliver(client, "issue_comment", edited)
    bot = _human_comment(number, 9002, "Deployed to staging")
    bot["comment"]["user"]["type"] = "Bot"
    await deliver(client, "issue_comment", bot)
    await worker.drain(both, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])
    assert [c.body for c in await _comments(sessionmaker)] == ["Fixed in 2.4.2"]
    await deliver(client, "issue_comment", _human_comment(number, 9001, "", action="deleted"))
    await worker.drain(both, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])
    assert await _comments(sessionmaker) == []


async def test_no_telegram_message_for_who_chose_none(
    both: Settings,
    sessionmaker: Any,
    standin: StandIn,
    telegram: TelegramStandIn,
    client: httpx.AsyncClient,
) -> None:
    maria = await _reporter(sessionmaker, lang="en")
    async with sessionmaker() as s, s.begin():
        await users.set_notify_via(s, user_id=maria.id, channel="none")
    bug = await file_bug(sessionmaker, maria.id)
    await worker.drain(both, sessionmaker, kinds=[messages.CreateGithubIssue.kind])
    (number,) = list(standin.issues)
    await deliver(client, "issue_comment", _human_comment(number, 9100, "Can you retry?"))
    await worker.drain(both, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])
    async with sessionmaker() as s, s.begin():
        await support.update_bug(s, bug_id=bug.id, actor_id=None, status="in_progress")
    await worker.drain(both, sessionmaker, kinds=["notify.user"])
    assert telegram.sent(TG_ID) == []
    assert len(await _comments(sessionmaker)) == 1  # still on the web

    async with sessionmaker() as s, s.begin():
        await users.set_notify_via(s, user_id=maria.id, channel="telegram")
    await deliver(client, "issue_comment", _human_comment(number, 9101, "Any news?"))
    await worker.drain(both, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])
    await worker.drain(both, sessionmaker, kinds=["notify.user"])
    assert [c.text for c in telegram.sent(TG_ID)] == [
        f"octo-dev replied on your bug #{bug.id} “Shift list is empty”:\n\nAny news?"
    ]


async def test_the_sync_takes_in_a_reply_whose_webhook_never_came(
    both: Settings, sessionmaker: Any, standin: StandIn
) -> None:
    maria = await _reporter(sessionmaker, lang="en")
    bug = await file_bug(sessionmaker, maria.id)
    await worker.drain(both, sessionmaker, kinds=[messages.CreateGithubIssue.kind])
    (number,) = list(standin.issues)

    async def sync() -> None:
        async with sessionmaker() as s, s.begin():
            await outbox.enqueue(s, messages.SyncGithubIssues())
        await worker.drain(both, sessionmaker, kinds=[messages.SyncGithubIssues.kind])

    await sync()  # the first sync only marks the time: no history is imported
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    person = {"login": "octo-dev", "type": "User"}
    standin.comments.setdefault(number, []).extend(
        [
            {"id": 5001, "body": "Please retry now", "user": person, "created_at": now},
            {"id": 5002, "body": "CI passed", "user": {"login": "ci", "type": "Bot"},
             "created_at": now},
            {"id": 5003, "body": "x\n\n<!-- dcc-comment:99 -->", "user": person,
             "created_at": now},
        ]
    )  # fmt: skip
    standin.version += 1  # a comment changes its issue in the open list (its ETag)
    await sync()
    await sync()
    (taken,) = await _comments(sessionmaker)
    assert taken.github_comment_id == 5001 and taken.bug_id == bug.id
    async with sessionmaker() as s:
        jobs = list(await s.scalars(select(Job).where(Job.kind == "notify.user")))
    assert [j.payload.get("comment_id") for j in jobs if j.payload["event"] == "bug_comment"] == [
        taken.id
    ]
