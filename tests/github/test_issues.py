"""One GitHub issue per bug, exactly once, against the stand-in GitHub; and GitHub's failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from devops_center import worker
from devops_center.db import utcnow
from devops_center.github import issues, presenter
from devops_center.github.models import GithubIssue, GithubSyncState
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support.models import BugLog
from tests.conftest import make_settings
from tests.github.conftest import REPO, file_bug, github_settings
from tests.github.standin import SECONDARY_LIMIT_BODY, StandIn

ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
KINDS = [messages.CreateGithubIssue.kind]


async def _run(settings: Any, sessionmaker: Any) -> int:
    return await worker.drain(settings, sessionmaker, kinds=KINDS)


async def _job(sessionmaker: Any) -> Job:
    async with sessionmaker() as s:
        return (await s.execute(select(Job).where(Job.kind.in_(KINDS)))).scalar_one()


async def _bug(sessionmaker: Any, bug_id: int) -> BugLog:
    async with sessionmaker() as s:
        bug = await s.get(BugLog, bug_id)
        assert bug is not None
        return bug


async def _make_due(sessionmaker: Any) -> None:
    """Time passes: backed-off jobs come due, a pause GitHub asked for is over."""
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
        await s.execute(update(GithubSyncState).values(paused_until=None))


async def test_bug_becomes_one_issue(settings, sessionmaker, people, standin: StandIn) -> None:
    bug = await file_bug(sessionmaker, people["employee"].id, priority="high")
    assert await _run(settings, sessionmaker) == 1

    assert list(standin.issues) == [1]
    issue = standin.issues[1]
    assert issue["title"] == f"[Bug #{bug.id}] Shift list is empty"
    assert f"<!-- dcc-bug:{bug.id} -->" in issue["body"]
    for text in ("Opened the shift list", "My three shifts", "An empty page", "high"):
        assert text in issue["body"]
    assert f"https://dcc.example.org/support/bugs/{bug.id}" in issue["body"]
    assert "Test employee" in issue["body"] and "employee@test.local" not in issue["body"]
    assert [label["name"] for label in issue["labels"]] == ["bug", "priority:high"]
    assert standin.labels == {"bug", "priority:high"}

    assert (await _bug(sessionmaker, bug.id)).github_issue_number == 1
    async with sessionmaker() as s:
        mirrored = (await s.execute(select(GithubIssue))).scalar_one()
        notes = (await s.execute(select(Job).where(Job.kind == "notify.user"))).scalars().all()
    assert (mirrored.repo, mirrored.number, mirrored.bug_id) == (REPO, 1, bug.id)
    assert mirrored.is_bug and mirrored.state == "open"
    assert [n.payload for n in notes] == [
        {
            "user_id": people["employee"].id,
            "event": "bug_github_issue",
            "bug_id": bug.id,
            "issue_number": 1,
        }
    ]

    # Run again (a retry, a second worker): nothing new on GitHub.
    async with sessionmaker() as s, s.begin():
        await outbox.retry_job(s, job_id=(await _job(sessionmaker)).id)
    await _run(settings, sessionmaker)
    assert len(standin.issues) == 1 and standin.count("POST", f"/repos/{REPO}/issues") == 1


@ONLY_SQLITE
async def test_answer_lost_then_adopted(settings, sessionmaker, people, standin: StandIn) -> None:
    """GitHub creates the issue but its answer never arrives (client timeout): the retry
    finds the issue by its marker and adopts it."""
    bug = await file_bug(sessionmaker, people["employee"].id)
    standin.lose_create_answers = 1
    await _run(settings, sessionmaker)
    job = await _job(sessionmaker)
    assert job.status == "pending" and "did not answer in time" in (job.last_error or "")
    assert len(standin.issues) == 1
    assert (await _bug(sessionmaker, bug.id)).github_issue_number is None

    await _make_due(sessionmaker)
    await _run(settings, sessionmaker)
    assert (await _job(sessionmaker)).status == "done"
    assert len(standin.issues) == 1 and standin.count("POST", f"/repos/{REPO}/issues") == 1
    assert (await _bug(sessionmaker, bug.id)).github_issue_number == 1


async def test_commit_lost_then_adopted(settings, sessionmaker, people, standin: StandIn) -> None:
    """Killed between GitHub's answer and our commit: the run's database work is gone,
    the job runs again and adopts instead of creating a second issue."""
    first = await file_bug(sessionmaker, people["employee"].id, title="First")
    other = await file_bug(sessionmaker, people["employee"].id, title="Second")
    await _run(settings, sessionmaker)
    assert len(standin.issues) == 2
    async with sessionmaker() as s, s.begin():  # roll our side back to before the commit
        await s.execute(update(BugLog).values(github_issue_number=None))
        await s.execute(update(Job).where(Job.kind.in_(KINDS)).values(status="pending", attempts=0))
    await _run(settings, sessionmaker)
    assert len(standin.issues) == 2
    linked = {(await _bug(sessionmaker, b.id)).github_issue_number: b.id for b in (first, other)}
    assert {n: standin.issues[n]["title"] for n in linked} == {
        n: f"[Bug #{bug_id}] {'First' if bug_id == first.id else 'Second'}"
        for n, bug_id in linked.items()
    }


@ONLY_SQLITE
@pytest.mark.parametrize(
    ("status", "body", "headers", "min_delay", "max_delay"),
    [
        (500, {"message": "Server Error"}, {}, 0.5, 5),
        (502, {"message": "Bad Gateway"}, {"retry-after": "30"}, 30, 34),
        (403, SECONDARY_LIMIT_BODY, {"retry-after": "120"}, 120, 133),
        (403, SECONDARY_LIMIT_BODY, {}, 60, 67),
        (429, {"message": "Too Many Requests"}, {}, 0.5, 5),
        (
            403,
            {"message": "API rate limit exceeded for installation ID 1."},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "RESET+300"},
            295,
            333,
        ),
    ],
)
async def test_retryable_failures_back_off(
    settings, sessionmaker, people, standin: StandIn, status, body, headers, min_delay, max_delay
) -> None:
    import time

    headers = {k: v.replace("RESET+300", str(int(time.time()) + 300)) for k, v in headers.items()}
    bug = await file_bug(sessionmaker, people["employee"].id)
    standin.fail(status, body, headers=headers)
    await _run(settings, sessionmaker)
    job = await _job(sessionmaker)
    assert job.status == "pending" and job.attempts == 1
    assert f"GitHub {status}" in (job.last_error or "")
    wait = (job.run_after - utcnow()).total_seconds()
    assert min_delay - 2 <= wait <= max_delay, wait
    assert (await _bug(sessionmaker, bug.id)).status == "open"  # the report is untouched

    standin.recover()
    await _make_due(sessionmaker)
    await _run(settings, sessionmaker)
    assert (await _bug(sessionmaker, bug.id)).github_issue_number == 1
    assert len(standin.issues) == 1


@ONLY_SQLITE
async def test_timeout_is_retried(settings, sessionmaker, people, standin: StandIn) -> None:
    await file_bug(sessionmaker, people["employee"].id)
    standin.delay = 1.0  # longer than the 0.5 s client timeout
    await _run(settings, sessionmaker)
    job = await _job(sessionmaker)
    assert job.status == "pending" and "did not answer in time" in (job.last_error or "")
    standin.delay = 0
    await _make_due(sessionmaker)
    await _run(settings, sessionmaker)
    assert len(standin.issues) == 1


@ONLY_SQLITE
@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, {"message": "Bad credentials"}, "GitHub 401: Bad credentials"),
        (404, {"message": "Not Found"}, "GitHub 404: Not Found"),
        (
            422,
            {
                "message": "Validation Failed",
                "errors": [{"resource": "Issue", "code": "invalid", "field": "title"}],
            },
            "GitHub 422: Validation Failed (Issue title invalid)",
        ),
    ],
)
async def test_permanent_failures_stop_and_are_retryable(
    settings, sessionmaker, people, standin: StandIn, status, body, message
) -> None:
    bug = await file_bug(sessionmaker, people["employee"].id)
    standin.fail(status, body, only=f"POST /repos/{REPO}/issues")
    await _run(settings, sessionmaker)
    job = await _job(sessionmaker)
    assert job.status == "failed" and job.last_error == message
    assert len(standin.issues) == 0

    standin.recover()
    async with sessionmaker() as s, s.begin():
        await presenter.retry_github_job(s, job_id=job.id)
    await _run(settings, sessionmaker)
    assert (await _job(sessionmaker)).status == "done"
    assert (await _bug(sessionmaker, bug.id)).github_issue_number == 1


@ONLY_SQLITE
async def test_without_token_bugs_are_kept_locally_then_backfilled(
    db_url, tmp_path, sessionmaker, people, standin: StandIn
) -> None:
    off = make_settings(db_url, tmp_path, github_api_url=standin.url)
    bug = await file_bug(sessionmaker, people["employee"].id)
    await _run(off, sessionmaker)
    assert (await _job(sessionmaker)).status == "done"
    assert (await _bug(sessionmaker, bug.id)).github_issue_number is None
    assert standin.calls == []
    async with sessionmaker() as s:
        view = await presenter.overview(s, off)
    assert not view.github.enabled and "kept locally" in view.github.why
    assert view.bugs_without_issue == 1

    # GitHub is configured later: the periodic sync re-queues the bug.
    on = github_settings(db_url, tmp_path, standin)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(BugLog).values(created_at=utcnow() - timedelta(minutes=5)))
        await outbox.enqueue(s, messages.SyncGithubIssues())
    await worker.drain(on, sessionmaker, kinds=[messages.SyncGithubIssues.kind])
    await _run(on, sessionmaker)
    assert (await _bug(sessionmaker, bug.id)).github_issue_number == 1


@ONLY_SQLITE
async def test_a_rate_limit_pauses_every_github_job(
    settings, sessionmaker, people, standin: StandIn
) -> None:
    await file_bug(sessionmaker, people["employee"].id, title="First")
    await file_bug(sessionmaker, people["employee"].id, title="Second")
    standin.fail(403, SECONDARY_LIMIT_BODY, headers={"retry-after": "120"}, remaining=1)
    assert await _run(settings, sessionmaker) == 2
    assert len(standin.calls) == 1  # the second job did not knock on GitHub's door
    async with sessionmaker() as s:
        jobs = (await s.execute(select(Job).where(Job.kind.in_(KINDS)))).scalars().all()
    for job in jobs:
        assert job.status == "pending"
        assert (job.run_after - utcnow()).total_seconds() > 115
    assert "rate limit" in (jobs[1].last_error or "")

    await _make_due(sessionmaker)
    await _run(settings, sessionmaker)
    assert len(standin.issues) == 2


@ONLY_SQLITE
async def test_webhook_links_first_reporter_told_once(
    settings, sessionmaker, people, standin: StandIn
) -> None:
    """GitHub's ``issues.opened`` webhook for our new issue is processed before the job's
    own commit: the bug is linked by the marker; the job then finds it linked."""
    from devops_center.integrations.github.events import parse_issue

    bug = await file_bug(sessionmaker, people["employee"].id)
    standin.lose_create_answers = 1
    await _run(settings, sessionmaker)
    async with sessionmaker() as s, s.begin():
        await issues.apply_issue_to_bug(
            s, settings, parse_issue(standin.issues[1], repo=REPO), action="opened"
        )
    await _make_due(sessionmaker)
    await _run(settings, sessionmaker)
    assert len(standin.issues) == 1
    assert (await _bug(sessionmaker, bug.id)).github_issue_number == 1
    async with sessionmaker() as s:
        notes = (await s.execute(select(Job).where(Job.kind == "notify.user"))).scalars().all()
    assert [(n.payload["event"], n.payload["issue_number"]) for n in notes] == [
        ("bug_github_issue", 1)
    ]
