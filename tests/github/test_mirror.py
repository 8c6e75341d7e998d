"""The issue mirror: paginated sync, ETag (a second sync is a 304), reconciling bugs, counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from devops_center import worker
from devops_center.github import mirror, presenter
from devops_center.github.models import GithubIssue, GithubSyncState
from devops_center.integrations.github.events import is_pull_request, parse_issue
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support.models import BugLog
from tests.github.conftest import REPO, file_bug
from tests.github.standin import StandIn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"


async def _sync(settings: Any, sessionmaker: Any) -> None:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.SyncGithubIssues())
    assert await worker.drain(settings, sessionmaker, kinds=[messages.SyncGithubIssues.kind]) == 1


async def test_sync_pages_then_304_then_reconciles_a_closed_issue(
    settings, sessionmaker, people, standin: StandIn
) -> None:
    for n in range(1, 151):
        labels = ["bug", "priority:critical"] if n % 50 == 0 else ["bug"] if n % 2 else ["docs"]
        standin.add_issue(f"Issue {n}", labels=labels)
    bug = await file_bug(sessionmaker, people["employee"].id)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(BugLog).values(github_issue_number=42))

    await _sync(settings, sessionmaker)
    assert standin.count("GET", f"/repos/{REPO}/issues") == 2  # 100 + 50, via Link: next
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(GithubIssue)) == 150
        counts = await mirror.issue_counts(s, repo=REPO)
    assert (counts.open, counts.closed, counts.open_bugs, counts.open_critical) == (150, 0, 78, 3)
    assert counts.by_label == {"bug": 78, "docs": 72, "priority:critical": 3}

    # Nothing changed: one conditional request, answered 304.
    calls = len(standin.calls)
    await _sync(settings, sessionmaker)
    issue_calls = [c for c in standin.calls[calls:] if "/pulls" not in c[1]]
    assert issue_calls == [("GET", f"/repos/{REPO}/issues")]
    async with sessionmaker() as s:
        state = await s.get(GithubSyncState, REPO)
    assert state is not None and state.last_sync_not_modified is True

    # Issue 42 was closed and its webhook missed: the sync notices and resolves the bug.
    standin.set_state(42, "closed")
    await _sync(settings, sessionmaker)
    assert ("GET", f"/repos/{REPO}/issues/42") in standin.calls
    async with sessionmaker() as s:
        row = await mirror.get_issue(s, repo=REPO, number=42)
        stored = await s.get(BugLog, bug.id)
        counts = await mirror.issue_counts(s, repo=REPO)
    assert row is not None and row.state == "closed" and row.gh_closed_at is not None
    assert stored is not None and stored.status == "resolved"
    assert (counts.open, counts.closed) == (149, 1)

    standin.set_state(42, "open")
    await _sync(settings, sessionmaker)
    async with sessionmaker() as s:
        stored = await s.get(BugLog, bug.id)
    assert stored is not None and stored.status == "open"


def test_real_listing_objects_parse() -> None:
    """The issue objects GitHub returned in octokit's recorded pagination scenario."""
    recorded = json.loads((FIXTURES / "api-paginate-issues.json").read_text())
    issues = [item for call in recorded for item in call["response"]]
    parsed = [parse_issue(i) for i in issues if not is_pull_request(i)]
    assert len(parsed) == 13
    first = parsed[0]
    assert first.repo == "octokit-fixture-org/paginate-issues"
    assert first.state == "open" and first.created_at is not None and first.url


def test_real_created_issue_parses() -> None:
    recorded = json.loads((FIXTURES / "api-add-labels-to-issue.json").read_text())
    data = parse_issue(recorded[0]["response"])
    assert (data.number, data.title, data.state) == (1, "Issue without a label", "open")
    assert data.bug_id is None and not data.is_bug


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_failed_sync_is_shown_not_piled_up(
    settings, sessionmaker, standin: StandIn
) -> None:
    standin.add_issue("One", labels=["bug"])
    standin.fail(502, {"message": "Bad Gateway"})
    await _sync(settings, sessionmaker)
    async with sessionmaker() as s:
        view = await presenter.overview(s, settings)
        jobs = (await s.execute(select(Job))).scalars().all()
    assert [j.status for j in jobs] == ["done"]
    assert view.sync_error == "GitHub 502: Bad Gateway" and view.counts.open == 0

    standin.recover()
    await _sync(settings, sessionmaker)
    async with sessionmaker() as s:
        view = await presenter.overview(s, settings)
    assert view.sync_error is None and view.counts.open == 1
