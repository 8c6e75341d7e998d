"""The reporter closes their own bug (web, API or bot): the worker closes its GitHub issue
on the stand-in (PATCH state=closed) with one short comment saying so — also when the
issue is opened after the bug was closed, never when the bug was reopened meanwhile, and
the "closed" webhook that follows leaves the bug closed (not resolved)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from devops_center import worker
from devops_center.config import Settings
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support import service as support
from devops_center.support.models import BugLog
from devops_center.users import tokens as api_tokens
from devops_center.users.models import User
from tests.conftest import post_form
from tests.github.conftest import REPO, file_bug
from tests.github.standin import StandIn
from tests.github.test_webhooks import deliver, issue_payload

CLOSE = messages.CloseGithubIssueByReporter.kind


async def _issue(settings: Settings, sessionmaker: Any, standin: StandIn, bug_id: int) -> int:
    await worker.drain(settings, sessionmaker, kinds=[messages.CreateGithubIssue.kind])
    async with sessionmaker() as s:
        bug = await s.get(BugLog, bug_id)
    assert bug is not None and bug.github_issue_number in standin.issues
    return bug.github_issue_number


def _closing_notes(standin: StandIn, number: int) -> list[str]:
    return [
        str(c["body"])
        for c in standin.comments.get(number, [])
        if "The reporter closed this bug in dcc" in str(c["body"])
    ]


async def test_closed_on_the_web_closes_the_issue_once(
    settings: Settings,
    sessionmaker: Any,
    standin: StandIn,
    as_role: Any,
    people: dict[str, User],
    client: httpx.AsyncClient,
) -> None:
    bug = await file_bug(sessionmaker, people["employee"].id)
    number = await _issue(settings, sessionmaker, standin, bug.id)
    employee = await as_role("employee")
    path = f"/support/bugs/{bug.id}"
    closed = await post_form(employee, f"{path}/close", {}, form_page=path)
    assert closed.status_code == 303
    assert standin.issues[number]["state"] == "open"  # not inside the request
    assert await worker.drain(settings, sessionmaker, kinds=[CLOSE]) == 1

    issue = standin.issues[number]
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    assert standin.count("PATCH", f"/repos/{REPO}/issues/{number}") == 1
    (note,) = _closing_notes(standin, number)
    assert f"<!-- dcc-reporter-closed:{bug.id} -->" in note
    # A repeated run (a crash after GitHub's answer) writes no second comment.
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.CloseGithubIssueByReporter(bug_id=bug.id))
    await worker.drain(settings, sessionmaker, kinds=[CLOSE])
    assert len(_closing_notes(standin, number)) == 1

    # GitHub tells us the issue was closed: the bug stays closed (not "resolved").
    payload = issue_payload("issues.closed.json", number=number)
    assert (await deliver(client, "issues", payload)).status_code == 202
    await worker.drain(settings, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])
    async with sessionmaker() as s:
        after = await s.get(BugLog, bug.id)
    assert after is not None and after.status == "closed"


async def test_closed_through_the_api_before_the_issue_existed(
    settings: Settings,
    sessionmaker: Any,
    standin: StandIn,
    people: dict[str, User],
    client: httpx.AsyncClient,
) -> None:
    bug = await file_bug(sessionmaker, people["employee"].id)
    async with sessionmaker() as s, s.begin():
        _row, token = await api_tokens.create_token(
            s, name="cli", scopes=["bugs:write"], user_id=people["employee"].id
        )
    response = await client.post(
        f"/api/v1/bugs/{bug.id}/close", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    async with sessionmaker() as s:
        assert list(await s.scalars(select(Job).where(Job.kind == CLOSE))) == []
    # The issue is opened afterwards (GitHub was slow): linking it queues the close.
    number = await _issue(settings, sessionmaker, standin, bug.id)
    assert await worker.drain(settings, sessionmaker, kinds=[CLOSE]) == 1
    assert standin.issues[number]["state"] == "closed"
    assert len(_closing_notes(standin, number)) == 1


async def test_a_bug_reopened_meanwhile_or_closed_by_the_team_keeps_its_issue_open(
    settings: Settings, sessionmaker: Any, standin: StandIn, people: dict[str, User]
) -> None:
    reporter, owner = people["employee"].id, people["owner"].id
    bug = await file_bug(sessionmaker, reporter)
    number = await _issue(settings, sessionmaker, standin, bug.id)
    async with sessionmaker() as s, s.begin():
        await support.close_own_bug(s, bug_id=bug.id, reporter_id=reporter, source="web")
    async with sessionmaker() as s, s.begin():
        await support.update_bug(s, bug_id=bug.id, actor_id=owner, status="open")
    await worker.drain(settings, sessionmaker, kinds=[CLOSE])
    assert standin.issues[number]["state"] == "open" and _closing_notes(standin, number) == []

    # Closed by the team before its issue existed: linking queues nothing.
    other = await file_bug(sessionmaker, reporter, title="Another one")
    async with sessionmaker() as s, s.begin():
        await support.update_bug(s, bug_id=other.id, actor_id=owner, status="closed")
    await _issue(settings, sessionmaker, standin, other.id)
    async with sessionmaker() as s:
        queued = list(await s.scalars(select(Job).where(Job.kind == CLOSE)))
    assert [j.payload["bug_id"] for j in queued] == [bug.id]
