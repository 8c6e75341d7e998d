"""Text the databases cannot store (NUL, a lone surrogate) in any form field, query string
or JSON body: a clear 422 naming the field (or, in a query string, the NUL dropped),
never a 5xx and nothing half-stored — on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select

from devops_center.deployments.models import Deployment
from devops_center.support.models import BugLog, FaqEntry
from devops_center.users import tokens as api_tokens
from tests.conftest import csrf_token, post_form

BUG = {"what_doing": "Opening", "expected": "It opens", "actual": "Nothing", "priority": "high"}


async def _count(sessionmaker: Any, model: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_bug_title_with_nul_is_refused_naming_the_field(
    as_role: Any, sessionmaker: Any
) -> None:
    c = await as_role("employee")
    token = await csrf_token(c, "/support/bug")
    # As the browser sends the form: multipart, the CSRF token first.
    response = await c.post(
        "/support/bug",
        files={
            "csrftoken": (None, token),
            "title": (None, "Save\x00 fails"),
            **{k: (None, v) for k, v in BUG.items()},
        },
    )
    assert response.status_code == 422, response.text
    assert "“title”" in response.text and "NUL" in response.text
    assert await _count(sessionmaker, BugLog) == 0

    urlencoded = await post_form(
        c, "/support/bug", {"title": "Save fails", **BUG, "actual": "x\x00"}
    )
    assert urlencoded.status_code == 422 and "“actual”" in urlencoded.text
    assert await _count(sessionmaker, BugLog) == 0


async def test_the_refusal_is_in_russian_for_a_russian_user(as_role: Any) -> None:
    c = await as_role("employee")
    await post_form(c, "/language", {"language": "ru", "next": "/support"}, form_page="/support")
    response = await post_form(
        c, "/support/bug", {"title": "a\x00", **BUG}, form_page="/support/bug"
    )
    assert response.status_code == 422
    assert "Поле «title» содержит символ, который нельзя сохранить" in response.text


async def test_broken_utf8_in_a_form_is_not_a_server_error(as_role: Any, sessionmaker: Any) -> None:
    """A surrogate encoded in bytes (CESU-8) is not UTF-8: read as U+FFFD, stored fine."""
    c = await as_role("employee")
    token = await csrf_token(c, "/support/bug")
    body = (
        f"csrftoken={token}&title=".encode()
        + b"Broken \xed\xa0\x80 text"
        + b"&what_doing=a&expected=b&actual=c&priority=low"
    )
    response = await c.post(
        "/support/bug",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (303, 422), response.text
    async with sessionmaker() as s:
        titles = (await s.scalars(select(BugLog.title))).all()
    assert all("\x00" not in t for t in titles)


async def test_nul_in_a_query_string_is_dropped(
    as_role: Any, client: httpx.AsyncClient, sessionmaker: Any, people: Any
) -> None:
    owner = await as_role("owner")
    await post_form(
        await as_role("employee"), "/support/bug", {"title": "Payroll export hangs", **BUG}
    )
    for path in (
        "/admin/bugs?q=%00",
        "/admin/bugs?q=Payroll%00&status=%00&assignee=%00",
        "/support/faq?q=%00&category=%00",
        "/admin/deployments?service=%00&environment=%00",
        "/admin/incidents?q=%00",
        "/admin/faq?language=%00",
        "/support/bug?title=%00",
        "/admin/status?window=%00",
    ):
        response = await owner.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    listed = await owner.get("/admin/bugs?q=Payroll%00")
    assert "Payroll export hangs" in listed.text
    # The path too: a sign-in link token with NUL is just an unknown token.
    assert (await client.get("/auth/link/abc%00def")).status_code == 403


async def test_nul_in_sign_in_and_faq_forms_is_refused(
    client: httpx.AsyncClient, as_role: Any, sessionmaker: Any
) -> None:
    response = await post_form(
        client, "/login", {"email": "owner@test.local\x00", "password": "x", "next": "/support"}
    )
    assert response.status_code == 422 and "“email”" in response.text
    owner = await as_role("owner")
    response = await post_form(
        owner,
        "/admin/faq/new",
        {"category": "Account", "question": "Why?\x00", "answer": "Because.", "language": "en"},
    )
    assert response.status_code == 422 and "“question”" in response.text
    assert await _count(sessionmaker, FaqEntry) == 0


async def test_json_with_nul_or_a_lone_surrogate_is_a_422_naming_the_field(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    async with sessionmaker() as s, s.begin():
        _row, token = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    body = {
        "commit_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
        "started_at": "2026-11-28T10:00:00Z",
        "completed_at": "2026-11-28T10:04:12Z",
        "status": "success",
        "service": "web",
    }
    for field, value in (("commit_message", "fix\x00"), ("triggered_by", "\ud800bot")):
        raw = json.dumps({**body, field: value})  # ensure_ascii: "\\u0000", "\\ud800"
        response = await client.post(
            "/api/v1/deployments",
            content=raw,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert [d["loc"] for d in errors] == [["body", field]], errors
        assert [d["field"] for d in errors] == [field]
    # A key with a NUL is refused too.
    response = await client.post(
        "/api/v1/deployments",
        content=json.dumps({**body, "a\x00": 1}),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert await _count(sessionmaker, Deployment) == 0
