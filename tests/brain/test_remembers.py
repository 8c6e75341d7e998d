"""The brain remembers: known issues before a bug is filed (public text only), the
questions it could not answer (grouped on /admin/faq/gaps), the deflection rate."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from devops_center import worker
from devops_center.brain.models import BrainQuestion
from devops_center.deployments.models import ChangelogEntry, Deployment
from devops_center.support.models import BugLog
from tests.conftest import csrf_token, random_token


async def _file(client: Any, title: str, actual: str, token: str | None = None) -> Any:
    csrf = await csrf_token(client, "/support/bug")
    return await client.post(
        "/support/bug",
        data={
            "csrftoken": csrf,
            "title": title,
            "what_doing": "Using the app",
            "expected": "It works",
            "actual": actual,
            "priority": "medium",
            "client_token": token or random_token(),
        },
    )


async def test_known_issues_while_typing_a_bug_show_only_public_text(
    as_role: Any, settings: Any, sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    manager = await as_role("manager")
    filed = await _file(
        manager,
        "Payslip PDF will not download, secret project Zeus",
        "The download spinner runs forever and no file appears",
    )
    assert filed.status_code == 303
    await worker.drain(settings, sessionmaker, kinds=["brain.index"])
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()

    employee = await as_role("employee")
    params = {"title": "can't download my payslip pdf", "actual": "", "client_token": "form-1"}
    shown = await employee.get("/support/bug/suggest", params=params)
    assert f"Already reported: bug #{bug.id}, status: open" in shown.text
    assert "Zeus" not in shown.text and "spinner" not in shown.text  # another user's text
    # the reporter sees their own bug by its title
    mine = await manager.get("/support/bug/suggest", params=params | {"client_token": "f2"})
    assert "Payslip PDF will not download" in mine.text

    async with sessionmaker() as s, s.begin():
        b = await s.get(BugLog, bug.id)
        assert b is not None
        b.public_summary = "Payslips cannot be downloaded as PDF"
        b.status, b.resolved_at = "resolved", datetime(2026, 12, 3, 15, tzinfo=UTC)
        b.github_issue_number = 42
        s.add(
            ChangelogEntry(
                description="Fix payslip PDF download", github_issue=42, commit_sha="abc1234def"
            )
        )
        s.add(
            Deployment(
                commit_sha="abc1234def",
                status="success",
                started_at=datetime(2026, 12, 3, 16, tzinfo=UTC),
                completed_at=datetime(2026, 12, 3, 16, 5, tzinfo=UTC),
                environment="production",
                service="app",
            )
        )
    fixed = await employee.get("/support/bug/suggest", params=params)
    assert "Fixed on 3 Dec in deploy abc1234: Payslips cannot be downloaded as PDF" in fixed.text

    # an FAQ answer comes first when the title is a question the FAQ answers
    faq_hit = await employee.get(
        "/support/bug/suggest",
        params={"title": "I forgot my password and cannot log in", "client_token": "form-3"},
    )
    assert re.search(r'href="/support/faq/\d+"', faq_hit.text)
    # the form page asks as the user types (debounced HTMX)
    form = await employee.get("/support/bug")
    assert 'hx-get="/support/bug/suggest"' in form.text and "delay:700ms" in form.text


async def test_deflection_rate_on_the_dashboard(
    as_role: Any, settings: Any, sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    employee = await as_role("employee")
    for token in ("form-a", "form-b"):
        r = await employee.get(
            "/support/bug/suggest",
            params={"title": "how do I reset my password", "client_token": token},
        )
        assert "perhaps this is it" in r.text
    # typing on: one form is one row
    await employee.get(
        "/support/bug/suggest",
        params={"title": "how do I reset my password please", "client_token": "form-a"},
    )
    assert (
        await _file(employee, "Password reset mail never arrives", "No mail", "form-a")
    ).status_code == 303
    async with sessionmaker() as s, s.begin():
        rows = (
            (await s.execute(select(BrainQuestion).where(BrainQuestion.channel == "bug_form")))
            .scalars()
            .all()
        )
        assert sorted(r.form_token or "" for r in rows) == ["form-a", "form-b"]
        old = datetime.now(UTC) - timedelta(hours=2)
        await s.execute(update(BrainQuestion).values(updated_at=old, created_at=old))
    owner = await as_role("owner")
    page = await owner.get("/admin/faq")
    assert "Deflection: 50% of 2 bug reports begun with suggestions were not sent" in page.text


async def test_unanswered_questions_are_grouped_on_the_gaps_page(
    as_role: Any, sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    employee = await as_role("employee")
    for q in (
        "Can I bring my dog to the office?",
        "are dogs allowed at work",
        "can I take my puppy to work with me",
        "where is the nearest parking",
    ):
        await employee.get("/support/faq", params={"q": q})
        # each a separate question (not typing on): move the last one back in time
        await _age_questions(sessionmaker)
    owner = await as_role("owner")
    gaps = await owner.get("/admin/faq/gaps")
    assert gaps.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", gaps.text, re.S)
    dogs = next(r for r in rows if "dog" in r)
    assert "3 times" in dogs and "parking" not in dogs
    link = re.search(r'href="(/admin/faq/new\?language=en&amp;question=[^"]+)"', dogs)
    assert link
    new = await owner.get(link.group(1).replace("&amp;", "&"))
    assert re.search(r'name="question" maxlength="1000" required value="[^"]*(dog|puppy)', new.text)
    assert "without an answer" in (await owner.get("/admin/faq")).text


async def _age_questions(sessionmaker: Any) -> None:
    async with sessionmaker() as s, s.begin():
        old = datetime.now(UTC) - timedelta(minutes=5)
        await s.execute(update(BrainQuestion).values(updated_at=old))


async def test_changelog_entries_are_indexed_and_answer_in_the_bot_and_web(
    as_role: Any, settings: Any, sessionmaker: Any, faq: dict[str, set[int]]
) -> None:
    from devops_center.outbox import messages as m
    from devops_center.outbox import service as outbox

    async with sessionmaker() as s, s.begin():
        quiet = ChangelogEntry(description="Night shift bonus is paid again", commit_sha=None)
        told = ChangelogEntry(
            description="Исправлена загрузка фото профиля", commit_sha="fedcba9876"
        )
        s.add_all([quiet, told])
        await s.flush()
        # the journal enqueues brain.index for its entry; the other one is caught up
        await outbox.enqueue(s, m.IndexBrainDocument(source="changelog", source_id=told.id))
        await outbox.enqueue(s, m.IndexPendingChangelog())
    await worker.drain(settings, sessionmaker, kinds=["brain.index", "brain.catch_up"])
    async with sessionmaker() as s:
        flags = (await s.execute(select(ChangelogEntry.indexed_in_brain))).scalars().all()
    assert flags == [True, True]
    employee = await as_role("employee")
    shown = await employee.get(
        "/support/bug/suggest", params={"title": "profile photo upload does not work"}
    )
    assert "In the changelog of" in shown.text and "фото профиля" in shown.text
