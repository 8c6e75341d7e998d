"""/admin/tokens: owners create (shown once), list and revoke API tokens."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from devops_center.users.models import ApiToken, AuditLog, User
from tests.conftest import post_form

TOKEN_RE = re.compile(r'<code class="token-value" id="new-token">(dcc_[^<]+)</code>')


async def test_an_owner_creates_lists_and_revokes(
    as_role: Any, client: httpx.AsyncClient, people: dict[str, User], sessionmaker: Any
) -> None:
    owner = await as_role("owner")
    created = await post_form(
        owner,
        "/admin/tokens",
        {
            "name": "helpdesk",
            "scope": ["bugs:read", "bugs:write"],
            "user_email": "employee@test.local",
            "expires_days": "30",
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    match = TOKEN_RE.search(created.text)
    assert match, created.text
    plaintext = match.group(1)
    auth = {"authorization": f"Bearer {plaintext}"}
    who = (await client.get("/api/v1/whoami", headers=auth)).json()
    assert who["acts_for"]["email"] == "employee@test.local"
    assert who["scopes"] == ["bugs:read", "bugs:write"]

    listed = await owner.get("/admin/tokens")
    assert "helpdesk" in listed.text and plaintext not in listed.text  # shown once only
    assert people["employee"].name in listed.text
    async with sessionmaker() as s:
        row = (await s.execute(select(ApiToken))).scalar_one()
        assert row.created_by == people["owner"].id and row.expires_at is not None
        assert row.last_used_at is not None  # the whoami call above
    revoked = await post_form(
        owner, f"/admin/tokens/{row.id}/revoke", {}, form_page="/admin/tokens"
    )
    assert revoked.status_code == 303
    assert (await client.get("/api/v1/whoami", headers=auth)).status_code == 401
    async with sessionmaker() as s:
        actions = [(a.action, a.ip) for a in (await s.execute(select(AuditLog))).scalars()]
    assert ("create", "127.0.0.1") in actions and ("revoke", "127.0.0.1") in actions


async def test_refusals_keep_what_was_typed(as_role: Any, sessionmaker: Any) -> None:
    owner = await as_role("owner")
    refused = await post_form(
        owner,
        "/admin/tokens",
        {"name": "too much", "scope": ["users:admin"], "user_email": "employee@test.local"},
    )
    assert refused.status_code == 422
    assert "too much" in refused.text and "role does not allow" in refused.text
    nobody = await post_form(
        owner, "/admin/tokens", {"name": "x", "scope": ["bugs:read"], "user_email": "no@x.y"}
    )
    assert nobody.status_code == 422 and "No such active user" in nobody.text
    no_scope = await post_form(owner, "/admin/tokens", {"name": "x"})
    assert no_scope.status_code == 422
    async with sessionmaker() as s:
        assert (await s.execute(select(ApiToken))).first() is None


async def test_employees_cannot_manage_tokens(as_role: Any) -> None:
    employee = await as_role("employee")
    assert (await employee.get("/admin/tokens")).status_code == 403


async def test_an_owner_creates_an_integration_token(
    as_role: Any, client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    """No user: an integration, acting with its scopes alone; what it files names the
    reporter by reporter_email or is reported by the integration itself."""
    owner = await as_role("owner")
    created = await post_form(
        owner, "/admin/tokens", {"name": "zapier", "scope": ["bugs:read", "bugs:write"]}
    )
    assert created.status_code == 201, created.text
    match = TOKEN_RE.search(created.text)
    assert match
    auth = {"authorization": f"Bearer {match.group(1)}"}
    who = (await client.get("/api/v1/whoami", headers=auth)).json()
    assert who["acts_for"] is None and who["scopes"] == ["bugs:read", "bugs:write"]
    bug = {"title": "Form broken", "what_doing": "a", "expected": "b", "actual": "c"}
    filed = await client.post(
        "/api/v1/bugs", json={**bug, "reporter_email": "employee@test.local"}, headers=auth
    )
    assert filed.status_code == 201
    async with sessionmaker() as s:
        reporter = await s.get(User, filed.json()["reporter_id"])
        token = (await s.execute(select(ApiToken))).scalar_one()
    assert reporter is not None and reporter.email == "employee@test.local"
    assert token.user_id is None and token.expires_at is None
