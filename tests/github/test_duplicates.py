"""Likely duplicates on triage (the brain's scores), the merge: the duplicate closed, its
reporter told and following the original, its GitHub issue closed as a duplicate."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from devops_center import worker
from devops_center.outbox.models import Job
from devops_center.support.models import BugDuplicate, BugFollower, BugLog
from devops_center.users.models import User
from tests.conftest import csrf_token
from tests.github.conftest import REPO, file_bug
from tests.github.standin import StandIn


async def test_triage_lists_likely_duplicates_and_the_owner_merges(
    as_role: Any,
    people: dict[str, User],
    settings: Any,
    sessionmaker: Any,
    standin: StandIn,
    model: str,
) -> None:
    first = await file_bug(
        sessionmaker, people["manager"].id, title="Payslip PDF does not download"
    )
    other = await file_bug(sessionmaker, people["owner"].id, title="Night shift bonus missing")
    again = await file_bug(
        sessionmaker, people["employee"].id, title="Cannot download my payslip as PDF"
    )
    await worker.drain(settings, sessionmaker, kinds=["brain.index", "github.create_issue"])

    owner = await as_role("owner")
    page = await owner.get(f"/admin/bugs/{again.id}")
    rows = re.findall(r"<tr>(.*?)</tr>", page.text.split("Likely duplicates")[1], re.S)
    assert f"#{first.id} · Payslip PDF does not download" in rows[1]
    score = float(re.search(r"<td>(0\.\d\d)</td>", rows[1]).group(1))  # type: ignore[union-attr]
    assert 0.5 <= score <= 1
    assert f"#{other.id}" not in page.text.split("Likely duplicates")[1]

    token = await csrf_token(owner, f"/admin/bugs/{again.id}")
    merged = await owner.post(
        f"/admin/bugs/{again.id}/merge",
        data={"csrftoken": token, "original": str(first.id), "score": str(score)},
    )
    assert merged.status_code == 303
    page = await owner.get(f"/admin/bugs/{again.id}")
    assert f"Merged into bug #{first.id} as a duplicate." in page.text
    async with sessionmaker() as s:
        bug = await s.get(BugLog, again.id)
        assert bug is not None and bug.status == "closed"
        dup = (await s.execute(select(BugDuplicate))).scalar_one()
        assert (dup.original_id, dup.merged_by) == (first.id, people["owner"].id)
        follower = (await s.execute(select(BugFollower))).scalar_one()
        assert (follower.bug_id, follower.user_id) == (first.id, people["employee"].id)
        kinds = [j.kind for j in (await s.execute(select(Job))).scalars()]
    assert "github.close_duplicate" in kinds
    notices = [
        j.payload for j in await _jobs(sessionmaker, "notify.user") if j.payload.get("event")
    ]
    assert {"user_id": people["employee"].id, "event": "bug_duplicate"}.items() <= next(
        n for n in notices if n["event"] == "bug_duplicate"
    ).items()

    assert await worker.drain(settings, sessionmaker, kinds=["github.close_duplicate"]) == 1
    async with sessionmaker() as s:
        number = (await s.get(BugLog, again.id)).github_issue_number  # type: ignore[union-attr]
    assert number is not None
    issue = standin.issues[number]
    assert (issue["state"], issue["state_reason"]) == ("closed", "duplicate")
    assert any("Duplicate of #" in c["body"] for c in standin.comments[number])
    assert standin.count("PATCH", f"/repos/{REPO}/issues/{number}") == 1

    # the original moves: the follower is told too
    token = await csrf_token(owner, f"/admin/bugs/{first.id}")
    await owner.post(
        f"/admin/bugs/{first.id}",
        data={"csrftoken": token, "status": "in_progress", "priority": "medium", "assignee": ""},
    )
    follows = [
        j.payload
        for j in await _jobs(sessionmaker, "notify.user")
        if j.payload.get("event") == "followed_status"
    ]
    assert follows == [
        {
            "user_id": people["employee"].id,
            "event": "followed_status",
            "bug_id": first.id,
            "new": "in_progress",
        }
    ]


async def _jobs(sessionmaker: Any, kind: str) -> list[Job]:
    async with sessionmaker() as s:
        return list((await s.execute(select(Job).where(Job.kind == kind))).scalars())
