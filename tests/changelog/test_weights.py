"""Task weights from links: bugs and GitHub issues scored by the modules their closing
pull requests and the stack traces they quote touch; triage and the issue list sorted by
it. On SQLite and PostgreSQL, with the GitHub stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from devops_center import traces, worker
from devops_center.changelog import service as changelog
from devops_center.github import mirror
from devops_center.github.models import BODY_KEPT, GithubIssue, PullRequest, PullRequestFile
from devops_center.integrations.github.events import IssueData
from devops_center.outbox import messages
from devops_center.outbox.models import Job
from devops_center.support import bugs as support_bugs
from devops_center.support import comments as support_comments
from devops_center.support import service as support
from devops_center.support.models import BugLog
from tests.changelog.test_journey import scan_repo
from tests.github.conftest import REPO, UNLIMITED

TRACE = """Traceback (most recent call last):
  File "/srv/app/src/app/views.py", line 3, in <module>
    V = service.Z
  File "/srv/app/src/app/core.py", line 12, in broken
    raise KeyError(shift)
  File "/usr/lib/python3.11/asyncio/base_events.py", line 653, in run_until_complete
  File "<frozen importlib._bootstrap>", line 1, in _find_and_load
KeyError: 'night'
"""


async def rescore(settings: Any, sessionmaker: Any) -> int:
    return await worker.drain(settings, sessionmaker, kinds=[messages.RescoreImpact.kind])


async def bug_with(sessionmaker: Any, user_id: int, title: str, actual: str) -> int:
    report = support.BugReport(
        title=title, what_doing="Opened the shifts", expected="My shifts", actual=actual
    )
    async with sessionmaker() as s, s.begin():
        filed = await support.file_bug(
            s, settings=UNLIMITED, reporter_id=user_id, report=report, source="web"
        )
        return filed.bug.id


async def score_of(sessionmaker: Any, model: Any, pk: int) -> float | None:
    async with sessionmaker() as s:
        row = await s.get(model, pk)
        assert row is not None
        return row.impact_score  # type: ignore[no-any-return]


def issue(number: int, *, body: str | None = None, title: str = "An issue") -> IssueData:
    return IssueData(
        repo=REPO,
        number=number,
        title=title,
        state="open",
        labels=["bug"],
        assignee=None,
        url=f"https://github.com/{REPO}/issues/{number}",
        body=body,
        created_at=None,
        updated_at=None,
        closed_at=None,
        bug_id=None,
    )


async def add_pull(
    sessionmaker: Any, number: int, files: list[tuple[str, int, int]], closes: list[int]
) -> None:
    async with sessionmaker() as s, s.begin():
        pull = PullRequest(
            repo=REPO, number=number, title="fix: shifts", body="", state="open",
            closes=closes, labels=[], url=f"https://github.com/{REPO}/pull/{number}",
        )  # fmt: skip
        s.add(pull)
        await s.flush()
        for path, added, deleted in files:
            s.add(
                PullRequestFile(
                    pull_request_id=pull.id, path=path, additions=added, deletions=deleted
                )
            )


# ------------------------------------------------------------------------ pure


def test_frames_of_a_traceback() -> None:
    assert traces.frames(TRACE) == [
        ("srv/app/src/app/views.py", 3),
        ("srv/app/src/app/core.py", 12),
        ("usr/lib/python3.11/asyncio/base_events.py", 653),
    ]
    # quoted twice, Windows paths, pytest's long format: each frame once
    windows = 'File "C:\\work\\src\\app\\core.py", line 7, in f'
    assert traces.files(TRACE + TRACE + windows) == [
        ("srv/app/src/app/core.py", 1),
        ("srv/app/src/app/views.py", 1),
        ("usr/lib/python3.11/asyncio/base_events.py", 1),
        ("work/src/app/core.py", 1),
    ]
    assert traces.frames('no trace here; File "notes.txt", line 3') == []


def test_candidates_go_down_to_two_parts() -> None:
    assert traces.candidates("srv/src/app/core.py") == [
        "srv/src/app/core.py",
        "src/app/core.py",
        "app/core.py",
    ]
    assert traces.candidates("core.py") == ["core.py"]


# --------------------------------------------------------------------- bugs


async def test_a_traceback_weighs_a_bug_and_triage_sorts_by_it(
    settings, sessionmaker, people, as_role, tmp_path: Path
) -> None:
    await scan_repo(sessionmaker, tmp_path)
    await rescore(settings, sessionmaker)
    reporter = people["employee"].id
    plain = await bug_with(sessionmaker, reporter, "Buttons look odd", "The colour is off")
    traced = await bug_with(sessionmaker, reporter, "Night shifts crash", TRACE)
    leaf = await bug_with(
        sessionmaker, reporter, "Views crash", 'File "src/app/views.py", line 3, in <module>'
    )
    await rescore(settings, sessionmaker)
    assert await score_of(sessionmaker, BugLog, plain) is None  # nothing links it
    central = await score_of(sessionmaker, BugLog, traced)
    outer = await score_of(sessionmaker, BugLog, leaf)
    assert central is not None and outer is not None
    # core is imported by everything; views by nothing: centrality 0, the trace scores 0
    assert outer == 0.0 < central <= 1

    # a trace in a reporter's comment weighs the plain bug too
    async with sessionmaker() as s, s.begin():
        await support_comments.add_comment(
            s, settings=settings, bug_id=plain, author_id=reporter, team=False,
            data=support_comments.CommentInput(body=TRACE), source="web",
        )  # fmt: skip
    await rescore(settings, sessionmaker)
    assert await score_of(sessionmaker, BugLog, plain) == central

    owner = await as_role("owner")
    page = (await owner.get("/admin/bugs?sort=impact")).text
    assert page.index("Night shifts crash") < page.index("Views crash")


async def test_a_bug_with_a_fix_and_a_trace_takes_the_higher(
    settings, sessionmaker, people, tmp_path: Path
) -> None:
    await scan_repo(sessionmaker, tmp_path)
    leaf = 'File "src/app/views.py", line 3, in <module>'
    bug_id = await bug_with(sessionmaker, people["employee"].id, "Views crash", leaf)
    await rescore(settings, sessionmaker)
    traced = await score_of(sessionmaker, BugLog, bug_id)
    async with sessionmaker() as s, s.begin():
        assert await support_bugs.link_github_issue(s, bug_id=bug_id, issue_number=41)
    await add_pull(sessionmaker, 90, [("src/app/core.py", 30, 10)], [41])
    async with sessionmaker() as s, s.begin():
        await changelog.from_pull(s, repo=REPO, number=90)
    fixed = await score_of(sessionmaker, BugLog, bug_id)
    assert traced is not None and fixed is not None and fixed > traced  # the pull's, higher
    async with sessionmaker() as s, s.begin():
        pull = await s.scalar(select(PullRequest).where(PullRequest.number == 90))
        assert pull is not None
        pull.state = "closed"  # closed without merging: it no longer counts
    async with sessionmaker() as s, s.begin():
        await changelog.from_pull(s, repo=REPO, number=90)
    assert await score_of(sessionmaker, BugLog, bug_id) == traced


# ------------------------------------------------------------------- issues


async def test_an_issue_gets_the_score_of_the_pull_that_closes_it(
    settings, sessionmaker, people, as_role, tmp_path: Path
) -> None:
    await scan_repo(sessionmaker, tmp_path)
    async with sessionmaker() as s, s.begin():
        ids = {}
        for number, title in ((5, "Views misaligned"), (6, "Shifts vanish"), (7, "Idea")):
            ids[number] = (await mirror.upsert_issue(s, issue(number, title=title))).issue.id
    await add_pull(sessionmaker, 70, [("src/app/core.py", 30, 10), ("docs/notes.md", 5, 0)], [6])
    await add_pull(sessionmaker, 71, [("src/app/models.py", 2, 1)], [5])
    async with sessionmaker() as s, s.begin():
        pull = await s.scalar(select(PullRequest).where(PullRequest.number == 70))
        assert pull is not None
        pull.state, pull.merge_commit_sha = "merged", "e" * 40
        entry = await changelog.from_pull(s, repo=REPO, number=70)
        await changelog.from_pull(s, repo=REPO, number=71)
    assert entry is not None and entry.impact_score is not None
    assert await score_of(sessionmaker, GithubIssue, ids[6]) == entry.impact_score
    small = await score_of(sessionmaker, GithubIssue, ids[5])
    assert small is not None and 0 < small < entry.impact_score
    assert await score_of(sessionmaker, GithubIssue, ids[7]) is None

    owner = await as_role("owner")
    by_impact = (await owner.get("/admin/github?sort=impact")).text
    table = by_impact.split('id="github-issues"')[1]
    assert table.index("Shifts vanish") < table.index("Views misaligned") < table.index("Idea")
    assert f"{entry.impact_score:.2f}" in table
    # any other order: the newest (here: the highest number) first
    newest = (await owner.get("/admin/github?sort=whatever")).text.split('id="github-issues"')[1]
    assert newest.index("Idea") < newest.index("Shifts vanish") < newest.index("Views misaligned")
    panel = (await owner.get("/admin/github/panel")).text  # the dashboard's: a badge each
    assert f'title="Impact score">{entry.impact_score:.2f}<' in panel


async def test_an_issue_body_trace_and_a_new_scan_rescore(
    settings, sessionmaker, tmp_path: Path
) -> None:
    async with sessionmaker() as s, s.begin():
        row = (await mirror.upsert_issue(s, issue(9, body=TRACE + "x" * 20_000))).issue
    assert row.body is not None and len(row.body) == BODY_KEPT
    await rescore(settings, sessionmaker)
    assert await score_of(sessionmaker, GithubIssue, row.id) is None  # no scan yet
    await scan_repo(sessionmaker, tmp_path)  # the scan queues a rescore of everything open
    async with sessionmaker() as s:
        queued = await s.scalars(select(Job).where(Job.kind == messages.RescoreImpact.kind))
        assert any(j.payload.get("all_open") for j in queued)
    await rescore(settings, sessionmaker)
    scored = await score_of(sessionmaker, GithubIssue, row.id)
    assert scored is not None and 0 < scored <= 1
