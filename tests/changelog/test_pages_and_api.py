"""The journal as people read it: /api/v1/changelog with its filters and scope,
/admin/changelog and an entry's user-facing lines, "What's new" on /support in the
reader's language, the module page, and triage sorted by impact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devops_center.changelog import service as changelog
from devops_center.deployments.models import ChangelogEntry
from devops_center.github.models import PullRequest, PullRequestFile
from devops_center.users import tokens as api_tokens
from tests.changelog.test_journey import scan_repo
from tests.conftest import csrf_token
from tests.github.conftest import REPO, file_bug


def _day(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


PULLS = [
    # number, title, merged at, files, closes
    (11, "feat: dark mode", _day(11, 2), [("src/app/views.py", 8, 2)], []),
    (12, "fix: night shifts", _day(11, 20), [("src/app/core.py", 30, 10)], [7]),
    (13, "docs: guide", _day(12, 1), [("docs/notes.md", 5, 0)], []),
]


@pytest.fixture
async def journal(settings: Any, sessionmaker: Any, tmp_path: Path) -> list[ChangelogEntry]:
    await scan_repo(sessionmaker, tmp_path)
    out = []
    async with sessionmaker() as s, s.begin():
        for number, title, merged, files, closes in PULLS:
            pull = PullRequest(
                repo=REPO,
                number=number,
                title=title,
                body="",
                state="merged",
                merge_commit_sha=f"{number:040x}",
                merged_at=merged,
                closes=closes,
                labels=[],
                url=f"https://github.com/{REPO}/pull/{number}",
            )
            s.add(pull)
            await s.flush()
            for path, added, deleted in files:
                s.add(
                    PullRequestFile(
                        pull_request_id=pull.id, path=path, additions=added, deletions=deleted
                    )
                )
            await s.flush()
            entry = await changelog.from_pull(s, repo=REPO, number=number)
            assert entry is not None
            out.append(entry)
    return out


async def _token(sessionmaker: Any, *scopes: str) -> dict[str, str]:
    async with sessionmaker() as s, s.begin():
        _row, plaintext = await api_tokens.create_token(s, name="reader", scopes=list(scopes))
    return {"authorization": f"Bearer {plaintext}"}


async def test_the_api_filters_and_refuses_bad_input(client, sessionmaker, journal) -> None:
    headers = await _token(sessionmaker, "changelog:read")
    r = await client.get("/api/v1/changelog", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    assert [e["pull_number"] for e in body["items"]] == [13, 12, 11]  # newest first
    fix = body["items"][1]
    assert (fix["change_type"], fix["component"], fix["status"]) == ("fix", "app", "merged")
    assert 0 < fix["impact_score"] <= 1 and fix["github_issue"] == 7
    docs = body["items"][0]
    assert docs["impact_score"] == 0.0 and docs["component"] == "docs"  # no module changed

    async def numbers(**params: str) -> list[int]:
        r = await client.get("/api/v1/changelog", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return [e["pull_number"] for e in r.json()["items"]]

    assert await numbers(type="feature") == [11]
    assert await numbers(component="app") == [12, 11]
    assert await numbers(status="deployed") == []
    assert await numbers(date_from="2026-11-15", date_to="2026-11-30") == [12]
    assert await numbers(date_from="2026-12-01") == [13]
    one = await client.get(f"/api/v1/changelog/{fix['id']}", headers=headers)
    assert one.status_code == 200 and one.json()["pull_number"] == 12

    bad = await client.get("/api/v1/changelog?type=nonsense", headers=headers)
    assert bad.status_code == 422 and "Unknown change type" in bad.text
    bad = await client.get(
        "/api/v1/changelog?date_from=2026-12-02&date_to=2026-12-01", headers=headers
    )
    assert bad.status_code == 422 and "end date is before" in bad.text
    bad = await client.get("/api/v1/changelog?date_from=yesterday", headers=headers)
    assert bad.status_code == 422
    assert (await client.get("/api/v1/changelog/999999", headers=headers)).status_code == 404
    other = await _token(sessionmaker, "bugs:read")
    refused = await client.get("/api/v1/changelog", headers=other)
    assert refused.status_code == 403 and refused.json()["required_scope"] == "changelog:read"
    assert (await client.get("/api/v1/changelog")).status_code == 401


async def test_admin_page_links_and_user_lines(as_role, journal, sessionmaker) -> None:
    owner = await as_role("owner")
    page = await owner.get("/admin/changelog?type=fix")
    assert page.status_code == 200
    assert "fix: night shifts" in page.text and "feat: dark mode" not in page.text
    assert f'href="https://github.com/{REPO}/pull/12"' in page.text
    assert f"/{REPO}/issues/7" in page.text
    # a hand-edited address still shows the page (filters dropped)
    assert (await owner.get("/admin/changelog?type=x&date_from=nope")).status_code == 200

    feature = journal[0]
    token = await csrf_token(owner, f"/admin/changelog/{feature.id}")
    too_long = await owner.post(
        f"/admin/changelog/{feature.id}",
        data={"csrftoken": token, "user_line_ru": "я" * 301, "user_line_en": "Dark mode"},
    )
    assert too_long.status_code == 422 and "At most 300 characters" in too_long.text
    async with sessionmaker() as s:
        kept = await s.get(ChangelogEntry, feature.id)
        assert kept is not None and kept.user_line_en is None  # nothing half-stored
    saved = await owner.post(
        f"/admin/changelog/{feature.id}",
        data={
            "csrftoken": token,
            "user_line_ru": "Тёмная тема для вечерних смен",
            "user_line_en": "A dark theme for evening shifts",
        },
    )
    assert saved.status_code == 303

    employee = await as_role("employee")
    assert (await employee.get("/admin/changelog")).status_code == 403
    en = await employee.get("/support", headers={"accept-language": "en"})
    news = en.text.split('id="whats-new"')[1].split("</section>")[0]
    assert "A dark theme for evening shifts" in news
    assert "Night shifts" in news  # a fix without a line: its title, prefix removed
    assert "guide" not in news  # docs are not user-visible
    await employee.post(
        "/language", data={"csrftoken": await csrf_token(employee, "/support"), "language": "ru"}
    )
    ru = await employee.get("/support")
    assert "Что нового" in ru.text and "Тёмная тема для вечерних смен" in ru.text


async def test_module_page_and_triage_by_impact(as_role, journal, sessionmaker, people) -> None:
    low = await file_bug(sessionmaker, people["employee"].id, title="Views look odd")
    high = await file_bug(sessionmaker, people["employee"].id, title="Shifts vanish")
    async with sessionmaker() as s, s.begin():
        from devops_center.support.models import BugLog

        for bug, issue in ((low, 8), (high, 7)):
            row = await s.get(BugLog, bug.id)
            assert row is not None
            row.github_issue_number = issue
        pull = (await s.execute(select(PullRequest).where(PullRequest.number == 12))).scalar_one()
        pull.state = "open"  # a fix on its way: the bug is open and its PR touches core
        await changelog.from_pull(s, repo=REPO, number=12)
    owner = await as_role("owner")
    page = await owner.get("/admin/architecture/module?scan=" + REPO + "&name=app.core")
    assert page.status_code == 200
    changes = page.text.split('id="module-changes"')[1].split("</section>")[0]
    assert "fix: night shifts" in changes and "dark mode" not in changes
    bugs = page.text.split('id="module-bugs"')[1].split("</section>")[0]
    assert "Shifts vanish" in bugs and "Views look odd" not in bugs

    triage = await owner.get("/admin/bugs?sort=impact")
    assert triage.status_code == 200
    assert triage.text.index("Shifts vanish") < triage.text.index("Views look odd")
