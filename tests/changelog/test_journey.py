"""A reported bug's whole way: filed → GitHub issue → pull request "Fixes #N" merged (the
webhook) → one changelog entry scored against the architecture → a production deployment
shipping the merge commit → the bug resolved and its reporter told once, in Russian, on
Telegram and on /support/my-bugs. Against the GitHub and Telegram stand-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from devops_center import worker
from devops_center.architecture import service as architecture
from devops_center.db import utcnow
from devops_center.deployments.models import ChangelogEntry
from devops_center.outbox import messages
from devops_center.outbox.models import Job
from devops_center.support.models import BugLog
from devops_center.users import tokens as api_tokens
from devops_center.users.models import User
from tests.bot.standin import StandIn as TelegramStandIn
from tests.changelog.conftest import write_repo
from tests.conftest import login
from tests.github.conftest import REPO, file_bug
from tests.github.standin import StandIn
from tests.github.test_webhooks import deliver

KINDS = [
    messages.ProcessGithubDelivery.kind,
    messages.FetchPullRequestDetails.kind,
    messages.CreateGithubIssue.kind,
    messages.ChangelogFromPull.kind,
    messages.ChangelogDeployed.kind,
    messages.NotifyUser.kind,
]


async def work(settings: Any, sessionmaker: Any) -> int:
    return await worker.drain(settings, sessionmaker, kinds=KINDS)


async def count(sessionmaker: Any, model: Any, *where: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def scan_repo(sessionmaker: Any, tmp_path: Path) -> None:
    result = architecture.scan_directory(write_repo(tmp_path / "repo"))
    async with sessionmaker() as s, s.begin():
        await architecture.store_scan(
            s, name=REPO, result=result, source="github", location=REPO, commit_sha="a" * 40
        )


async def deploy(client: Any, token: str, sha: str, commits: list[str], **extra: Any) -> int:
    started = utcnow() - timedelta(minutes=5)
    body = {
        "commit_sha": sha,
        "started_at": started.isoformat(),
        "completed_at": (started + timedelta(minutes=3)).isoformat(),
        "status": "success",
        "environment": "production",
        "commits": [
            {"sha": c, "committed_at": (started - timedelta(hours=1)).isoformat()} for c in commits
        ],
        **extra,
    }
    r = await client.post(
        "/api/v1/deployments", json=body, headers={"authorization": f"Bearer {token}"}
    )
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


async def test_merged_fix_goes_live_and_the_reporter_is_told_once(
    settings, client, make_client, sessionmaker, standin: StandIn, telegram: TelegramStandIn,
    people, tmp_path: Path,
) -> None:  # fmt: skip
    reporter = people["employee"]
    async with sessionmaker() as s, s.begin():
        row = await s.get(User, reporter.id)
        assert row is not None
        row.telegram_id, row.language = 4242, "ru"
        alice = await s.get(User, people["owner"].id)
        assert alice is not None
        alice.github_login = "alice"
        _tok, token = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    bug = await file_bug(sessionmaker, reporter.id, title="Пропали ночные смены", priority="high")
    await scan_repo(sessionmaker, tmp_path)
    await work(settings, sessionmaker)  # the GitHub issue of the bug
    async with sessionmaker() as s:
        found = await s.get(BugLog, bug.id)
        assert found is not None and found.github_issue_number is not None
        issue = found.github_issue_number

    number = standin.add_pull(
        "fix(shifts): night shifts are listed again",
        body=f"Fixes #{issue}\n\nThe list query forgot the **night** shifts.\n\n- [x] tests",
        author="Alice",
        files=[("src/app/core.py", 30, 10), ("docs/notes.md", 5, 0)],
    )
    await deliver(client, "pull_request", standin.pull_payload(number, "opened"))
    await work(settings, sessionmaker)
    assert await count(sessionmaker, ChangelogEntry) == 0  # open: no entry …
    async with sessionmaker() as s:
        scored = await s.get(BugLog, bug.id)
        assert scored is not None and scored.impact_score is not None  # … but the bug is scored
        assert 0.4 < scored.impact_score <= 1.0

    merge_sha = standin.merge_pull(number)
    payload = standin.pull_payload(number, "closed")
    assert (await deliver(client, "pull_request", payload, delivery="d-1")).status_code == 202
    await work(settings, sessionmaker)
    # the same delivery, and the same content under a new id: nothing more
    assert (await deliver(client, "pull_request", payload, delivery="d-1")).status_code == 200
    assert (await deliver(client, "pull_request", payload, delivery="d-2")).status_code == 200
    await work(settings, sessionmaker)
    async with sessionmaker() as s:
        entries = list((await s.execute(select(ChangelogEntry))).scalars())
    assert len(entries) == 1
    entry = entries[0]
    assert entry.commit_sha == merge_sha and entry.status == "merged"
    assert entry.change_type == "fix" and entry.component == "app"
    assert entry.description == (
        "fix(shifts): night shifts are listed again\nThe list query forgot the night shifts."
    )
    assert entry.github_issue == issue and entry.priority == "high"  # the bug's
    assert entry.created_by == people["owner"].id  # GitHub login "Alice" is hers
    assert entry.pull_number == number and entry.url and entry.url.endswith(f"/pull/{number}")
    assert entry.impact_score is not None and 0.4 < entry.impact_score <= 1.0
    async with sessionmaker() as s:  # a rescan after the merge is queued
        assert await s.scalar(
            select(func.count()).where(Job.kind == messages.ScanGithubArchitecture.kind)
        )

    # A failed deployment and a staging one ship nothing to users.
    await deploy(client, token, merge_sha, [merge_sha], status="failed", external_id="r-1")
    await deploy(client, token, merge_sha, [merge_sha], environment="staging", external_id="r-2")
    await work(settings, sessionmaker)
    assert telegram.sent(4242)[-1].text.startswith("Для вашего бага")  # only the issue note

    head = "f" * 40
    first = await deploy(client, token, head, [head, merge_sha], external_id="r-3")
    await work(settings, sessionmaker)
    async with sessionmaker() as s:
        entry2 = await s.get(ChangelogEntry, entry.id)
        live = await s.get(BugLog, bug.id)
        assert entry2 is not None and live is not None
        assert (entry2.status, entry2.deployment_id) == ("deployed", first)
        assert (live.status, live.fix_deployment_id) == ("resolved", first)
        assert live.fix_live_at is not None and live.resolved_at is not None
    told = [c.text for c in telegram.sent(4242)]
    local = live.fix_live_at.astimezone(settings.tz)
    expected = "Баг, о котором вы сообщили, «Пропали ночные смены», исправлен и работает с "
    assert told[-1].startswith(expected), told
    assert local.strftime("%H:%M") in told[-1]
    assert not any("Решён" in t for t in told)  # one message, not a status change too

    # Another deployment with the commit: nothing more for the bug or its reporter.
    await deploy(client, token, "e" * 40, ["e" * 40, merge_sha], external_id="r-4")
    await work(settings, sessionmaker)
    assert [c.text for c in telegram.sent(4242)] == told
    async with sessionmaker() as s:
        entry3 = await s.get(ChangelogEntry, entry.id)
        assert entry3 is not None and entry3.deployment_id == first

    # The reporter sees it on /support/my-bugs.
    web = make_client()
    assert (await login(web, reporter.email or "")).status_code == 303
    page = await web.get("/support/my-bugs", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "Fixed and live since" in page.text or "Исправлен и работает с" in page.text


async def test_closed_without_merge_and_late_deployments(
    settings, client, sessionmaker, standin: StandIn, telegram: TelegramStandIn, people,
    tmp_path: Path,
) -> None:  # fmt: skip
    """A pull request closed without merging writes nothing; one merged after the
    deployment that shipped it was recorded (a late sync) goes live at once; without a
    scan the component is the first directory under src/ and there is no score."""
    number = standin.add_pull("feat: dark mode", files=[("src/web/theme.py", 4, 0)])
    standin.close_pull(number)
    await deliver(client, "pull_request", standin.pull_payload(number, "closed"))
    await work(settings, sessionmaker)
    assert await count(sessionmaker, ChangelogEntry) == 0

    async with sessionmaker() as s, s.begin():
        _tok, token = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    other = standin.add_pull("perf: faster export", files=[("src/web/export.py", 4, 0)])
    sha = standin.merge_pull(other)
    deployment = await deploy(client, token, sha, [sha], external_id="late-1")
    await work(settings, sessionmaker)
    await deliver(client, "pull_request", standin.pull_payload(other, "closed"))
    await work(settings, sessionmaker)
    async with sessionmaker() as s:
        entry = (await s.execute(select(ChangelogEntry))).scalar_one()
    assert (entry.change_type, entry.component, entry.impact_score) == ("perf", "web", None)
    assert (entry.status, entry.deployment_id) == ("deployed", deployment)
    assert entry.deployed_at is not None and entry.deployed_at <= datetime.now(UTC)


async def test_the_sync_journals_a_merge_whose_webhook_never_came(
    settings, sessionmaker, standin: StandIn, telegram: TelegramStandIn
) -> None:
    number = standin.add_pull("docs: how to deploy", labels=["documentation"])
    standin.merge_pull(number)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Job).values(status="done"))
        from devops_center.outbox import service as outbox

        await outbox.enqueue(s, messages.SyncGithubIssues())
    await worker.drain(settings, sessionmaker, kinds=[messages.SyncGithubIssues.kind, *KINDS])
    async with sessionmaker() as s:
        entry = (await s.execute(select(ChangelogEntry))).scalar_one()
    assert (entry.change_type, entry.pull_number, entry.status) == ("docs", number, "merged")
