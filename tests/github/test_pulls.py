"""Pull requests: webhooks and the sync store them once, with their times, reviews and files."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from devops_center import worker
from devops_center.github import pulls
from devops_center.github.models import PullRequest, PullRequestFile
from devops_center.integrations.github.pulls import closed_issues, parse_pull
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job, WebhookDelivery
from tests.github.conftest import REPO
from tests.github.standin import StandIn
from tests.github.test_webhooks import deliver, fixture

KINDS = [messages.ProcessGithubDelivery.kind, messages.FetchPullRequestDetails.kind]


async def _work(settings: Any, sessionmaker: Any) -> int:
    return await worker.drain(settings, sessionmaker, kinds=KINDS)


async def _pull(sessionmaker: Any, number: int) -> PullRequest:
    async with sessionmaker() as s:
        row = await pulls.get_pull(s, repo=REPO, number=number)
        assert row is not None
        return row


async def _files(sessionmaker: Any, pull_id: int) -> list[tuple[str, int, int]]:
    async with sessionmaker() as s:
        return [(f.path, f.additions, f.deletions) for f in await pulls.files_of(s, pull_id)]


def test_closing_keywords() -> None:
    body = (
        "Fixes #12, closes: #7 and resolves acme/app#9.\n"
        "Refs #3. Fixed other/repo#4. Closes https://github.com/acme/app/issues/21 "
        "fix #12 again"
    )
    assert closed_issues(body, repo=REPO) == [12, 7, 9, 21]
    assert closed_issues("fixes #0 prefix#5 suffix", repo=REPO) == []
    assert closed_issues(None, repo=REPO) == []


def test_real_payloads_parse() -> None:
    merged = parse_pull(fixture("pull_request.merged.slack.json")["pull_request"], repo=REPO)
    assert (merged.number, merged.state, merged.author_login) == (36, "merged", "bkeepers")
    assert merged.merge_commit_sha == "acac2f75d59f43ceab769fb203cfbbf6f3cf8b10"
    assert (merged.additions, merged.deletions, merged.changed_files) == (110, 102, 14)
    assert merged.merged_at == datetime(2017, 10, 20, 16, 55, 30, tzinfo=UTC)
    closed = parse_pull(fixture("pull_request.closed.payload.json")["pull_request"], repo=REPO)
    assert closed.state == "closed" and closed.merge_commit_sha is None
    assert closed.labels == ["bug"]
    opened = parse_pull(fixture("pull_request.opened.payload.json")["pull_request"], repo=REPO)
    assert opened.state == "open" and opened.merge_commit_sha is None


async def test_webhooks_store_a_pull_request_with_its_times_reviews_and_files(
    settings, client, sessionmaker, standin: StandIn
) -> None:
    files = [(f"src/app/mod{i}.py", i, 1) for i in range(130)]  # two pages of files
    number = standin.add_pull(
        "fix: empty shift list",
        body="Fixes #12\n\nThe list query forgot the night shifts.",
        author="alice",
        labels=["bug"],
        files=files,
        commit_dates=["2026-12-01T09:00:00Z", "2026-11-30T17:30:00Z"],
        created_at="2026-12-01T10:00:00Z",
    )
    r = await deliver(client, "pull_request", standin.pull_payload(number, "opened"))
    assert r.status_code == 202, r.text
    assert await _work(settings, sessionmaker) == 2  # the delivery, then the details
    row = await _pull(sessionmaker, number)
    assert (row.state, row.author_login, row.closes, row.labels) == ("open", "alice", [12], ["bug"])
    assert row.opened_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert row.first_commit_at == datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    assert row.merge_commit_sha is None  # GitHub's test merge of an open PR is not kept
    assert len(await _files(sessionmaker, row.id)) == 130
    assert standin.count("GET", f"/repos/{REPO}/pulls/{number}/files") == 2

    # A review by the author counts for nothing; bob's approval does.
    own = standin.review_pull(number, "alice", "COMMENTED")
    await deliver(client, "pull_request_review", standin.review_payload(number, own))
    review = standin.review_pull(number, "bob", "APPROVED")
    await deliver(client, "pull_request_review", standin.review_payload(number, review))
    await _work(settings, sessionmaker)
    row = await _pull(sessionmaker, number)
    submitted = datetime.fromisoformat(review["submitted_at"].replace("Z", "+00:00"))
    assert row.first_review_at == submitted and row.approved_at == submitted

    sha = standin.merge_pull(number)
    payload = standin.pull_payload(number, "closed")
    assert (await deliver(client, "pull_request", payload, delivery="m-1")).status_code == 202
    await _work(settings, sessionmaker)
    row = await _pull(sessionmaker, number)
    assert (row.state, row.merge_commit_sha) == ("merged", sha)
    assert row.merged_at is not None and row.closed_at is not None
    assert row.first_review_at == submitted  # kept

    # The same content again, under the same or a new delivery id: nothing at all.
    jobs = await _count(sessionmaker, Job)
    again = await deliver(client, "pull_request", payload, delivery="m-1")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    other = await deliver(client, "pull_request", payload, delivery="m-2")
    assert other.status_code == 200 and other.json()["status"] == "duplicate"
    assert await _count(sessionmaker, Job) == jobs
    assert await _count(sessionmaker, WebhookDelivery) == 4

    # An older copy arriving late (a stale "opened") does not roll the row back.
    stale = standin.pull_payload(number, "synchronize")
    stale["pull_request"].update(state="open", merged=False, merged_at=None, closed_at=None)
    stale["pull_request"]["updated_at"] = "2026-12-01T10:00:00Z"
    await deliver(client, "pull_request", stale)
    await _work(settings, sessionmaker)
    row = await _pull(sessionmaker, number)
    assert row.state == "merged"
    assert await _count(sessionmaker, PullRequest) == 1


async def test_closed_without_merging(settings, client, sessionmaker, standin: StandIn) -> None:
    number = standin.add_pull("chore: try something")
    standin.close_pull(number)
    await deliver(client, "pull_request", standin.pull_payload(number, "closed"))
    await _work(settings, sessionmaker)
    row = await _pull(sessionmaker, number)
    assert row.state == "closed" and row.merged_at is None and row.merge_commit_sha is None
    assert standin.count("GET", f"/repos/{REPO}/pulls/{number}") == 0  # nothing to fetch


async def test_the_sync_catches_missed_pull_requests(
    settings, sessionmaker, standin: StandIn
) -> None:
    numbers = [standin.add_pull(f"feat: thing {i}", author="carol") for i in range(101)]
    first = numbers[0]
    standin.merge_pull(first)
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.SyncGithubIssues())
    await worker.drain(settings, sessionmaker, kinds=[messages.SyncGithubIssues.kind])
    assert await _count(sessionmaker, PullRequest) == 101
    assert _listings(standin) == 2  # paged: 100 + 1
    row = await _pull(sessionmaker, first)
    assert row.state == "merged" and row.additions is None  # the listing has no counts
    assert await _work(settings, sessionmaker) == 101  # one details job each
    row = await _pull(sessionmaker, first)
    assert (row.additions, row.deletions, row.changed_files) == (3, 1, 1)
    assert row.first_commit_at is not None and row.details_sha == row.head_sha
    assert await _files(sessionmaker, row.id) == [("src/app/main.py", 3, 1)]

    # The next sync reads back to its watermark (less a few minutes' overlap): the same
    # pull requests again, and nothing queued for them.
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.SyncGithubIssues())
    await worker.drain(settings, sessionmaker, kinds=[messages.SyncGithubIssues.kind])
    assert _listings(standin) == 4
    assert await _work(settings, sessionmaker) == 0
    assert await _count(sessionmaker, PullRequestFile) == 101


def _listings(standin: StandIn) -> int:
    with standin.lock:
        return sum(1 for m, p in standin.calls if (m, p) == ("GET", f"/repos/{REPO}/pulls"))


async def _count(sessionmaker: Any, model: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)
