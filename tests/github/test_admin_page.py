"""/admin/github and its dashboard panel: what an owner sees and the Retry button."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from devops_center import worker
from devops_center.github import gateway, sync
from devops_center.outbox import messages
from devops_center.outbox.models import Job
from devops_center.support.models import BugLog
from tests.conftest import post_form
from tests.github.conftest import REPO, file_bug
from tests.github.standin import StandIn

ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@ONLY_SQLITE
async def test_failed_job_shows_githubs_message_and_retry_works(
    settings, sessionmaker, people, standin: StandIn, as_role: Any
) -> None:
    bug = await file_bug(sessionmaker, people["employee"].id)
    standin.fail(401, {"message": "Bad credentials"})
    await worker.drain(settings, sessionmaker, kinds=[messages.CreateGithubIssue.kind])

    owner = await as_role("owner")
    page = await owner.get("/admin/github")
    assert page.status_code == 200
    assert "GitHub 401: Bad credentials" in page.text
    assert f"bug #{bug.id}" in page.text
    async with sessionmaker() as s:
        job = (
            await s.execute(select(Job).where(Job.kind == messages.CreateGithubIssue.kind))
        ).scalar_one()
    assert f'action="/admin/github/jobs/{job.id}/retry"' in page.text

    standin.recover()
    async with sessionmaker() as s, s.begin():  # a rate limit is shown too
        await gateway.update_state(
            s, settings.github_repo, paused_until=datetime(2999, 1, 1, tzinfo=UTC)
        )
    assert "GitHub jobs resume at" in (await owner.get("/admin/github/panel")).text
    async with sessionmaker() as s, s.begin():
        await gateway.update_state(s, settings.github_repo, paused_until=None)
    response = await post_form(
        owner, f"/admin/github/jobs/{job.id}/retry", {}, form_page="/admin/github"
    )
    assert response.status_code == 303
    await worker.drain(settings, sessionmaker, kinds=[messages.CreateGithubIssue.kind])
    async with sessionmaker() as s:
        stored = await s.get(BugLog, bug.id)
    assert stored is not None and stored.github_issue_number == 1
    page = await owner.get("/admin/github")
    assert "No failed GitHub jobs." in page.text

    # Without the CSRF token the button does nothing.
    bare = await owner.post(f"/admin/github/jobs/{job.id}/retry")
    assert bare.status_code == 403


@ONLY_SQLITE
async def test_panel_fragment_counts_the_mirror(
    settings, sessionmaker, people, standin: StandIn, as_role: Any
) -> None:
    standin.add_issue("Crash on login", labels=["bug", "priority:critical"])
    standin.add_issue("Typo", labels=["bug", "priority:low"])
    standin.add_issue("Docs", labels=["documentation"])
    async with sessionmaker() as s, s.begin():
        await sync.request_sync(s)
        await sync.request_sync(s)  # a second click queues nothing more
    assert await worker.drain(settings, sessionmaker, kinds=[messages.SyncGithubIssues.kind]) == 1

    owner = await as_role("owner")
    panel = await owner.get("/admin/github/panel")
    assert panel.status_code == 200
    assert "<html" not in panel.text and "<h2" not in panel.text  # a fragment for hx-get
    assert 'class="github-open">3<' in panel.text
    assert 'class="github-bugs">2<' in panel.text
    assert 'class="github-critical">1<' in panel.text
    assert "Crash on login" in panel.text and REPO in panel.text


@ONLY_SQLITE
async def test_off_without_token_says_bugs_are_kept_locally(
    db_url, tmp_path, sessionmaker, people, as_role: Any
) -> None:
    import httpx

    from devops_center.web.app import create_app
    from tests.conftest import login, make_settings

    app = create_app(make_settings(db_url, tmp_path), sessionmaker=sessionmaker)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 1)), base_url="http://t"
    ) as owner:
        await login(owner, "owner@test.local")
        page = await owner.get("/admin/github")
    assert page.status_code == 200
    assert "bug reports are kept locally" in page.text
    assert "GITHUB_WEBHOOK_SECRET is not set" in page.text
    assert "Sync issues now" not in page.text
    assert "(GITHUB_TOKEN is not set: bugs are kept locally)" in page.text

    from sqlalchemy import update

    from devops_center.users.models import User

    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.role == "owner").values(language="ru"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 1)), base_url="http://t"
    ) as owner:
        await login(owner, "owner@test.local")
        russian = await owner.get("/admin/github")
    assert "(GITHUB_TOKEN не задан: отчёты об ошибках хранятся локально)" in russian.text
    assert "is not set" not in russian.text


@ONLY_SQLITE
async def test_retry_of_an_unknown_job_is_a_clean_404(settings, sessionmaker, as_role: Any) -> None:
    owner = await as_role("owner")
    response = await post_form(owner, "/admin/github/jobs/999/retry", {}, form_page="/admin/github")
    assert response.status_code == 404
    assert "No such job" in response.text and "Test owner" in response.text  # nav still there
    employee = await as_role("employee")
    refused = await post_form(employee, "/admin/github/sync", {}, form_page="/support")
    assert refused.status_code == 403


@ONLY_SQLITE
async def test_the_page_in_russian(settings, sessionmaker, people, as_role: Any) -> None:
    from sqlalchemy import update

    from devops_center.users.models import User

    await file_bug(sessionmaker, people["employee"].id)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.role == "owner").values(language="ru"))
    owner = await as_role("owner")
    page = await owner.get("/admin/github")
    assert page.status_code == 200
    for text in (
        "Интеграция с GitHub",
        "Открытые баги",
        "У 1 отчёта об ошибке ещё нет задачи в GitHub",
        "1 задание GitHub в очереди",
        "Доставок пока нет.",
    ):
        assert text in page.text, text

    from devops_center.outbox.models import WebhookDelivery

    async with sessionmaker() as s, s.begin():
        s.add(WebhookDelivery(source="github", delivery_id="d-1", event="ping", status="processed"))
        s.add(WebhookDelivery(source="github", delivery_id="d-2", event="push", status="unhandled"))
    page = await owner.get("/admin/github")
    assert ">обработана<" in page.text and ">без обработчика<" in page.text
    assert ">processed<" not in page.text and ">unhandled<" not in page.text
