"""Every /api/v1 operation names its scope, and a token without that scope gets 403."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devops_center.users.access import SCOPES, role_scopes
from devops_center.users.models import User
from tests.api.conftest import MakeToken

NO_SCOPE_NEEDED = {("get", "/api/v1/whoami")}


def _operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _concrete(path: str) -> str:
    """``/api/v1/bugs/{bug_id}`` → ``/api/v1/bugs/1``."""
    return "/".join("1" if part.startswith("{") else part for part in path.split("/"))


async def test_every_operation_declares_a_known_scope(app: Any) -> None:
    missing = [
        f"{m.upper()} {p}"
        for m, p, op in _operations(app)
        if (m, p) not in NO_SCOPE_NEEDED and op.get("x-required-scope") not in SCOPES
    ]
    assert not missing, "operations without x-required-scope: " + ", ".join(missing)


async def test_a_token_without_the_scope_gets_403(
    app: Any, client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """For each operation: a token holding every other scope (but not ``admin``, which
    stands for all) is refused with 403, before the body or the id is looked at."""
    tokens: dict[str, dict[str, str]] = {}
    problems = []
    for method, path, op in _operations(app):
        scope = op.get("x-required-scope")
        if scope is None:
            continue
        if scope not in tokens:
            others = [s for s in SCOPES if s not in (scope, "admin")]
            tokens[scope] = await make_token(*others)
        r = await client.request(method.upper(), _concrete(path), headers=tokens[scope], json={})
        body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
        if r.status_code != 403 or body.get("required_scope") != scope:
            problems.append(f"{method.upper()} {path}: {r.status_code} {r.text[:120]}")
    assert not problems, "\n".join(problems)


async def test_a_user_token_is_narrowed_to_the_users_role(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    """A user's token holds only scopes the user's role allows; demoting an owner takes
    the owner's rights from their tokens at once."""
    from devops_center.errors import Invalid
    from devops_center.users import service as users
    from devops_center.users import tokens as api_tokens

    async with sessionmaker() as s, s.begin():
        with pytest.raises(Invalid) as refused_scope:
            await api_tokens.create_token(
                s, name="x", scopes=["users:admin"], user_id=people["employee"].id
            )
    assert "scope" in refused_scope.value.fields
    employee = await make_token(*role_scopes("employee"), user=people["employee"])
    who = (await client.get("/api/v1/whoami", headers=employee)).json()
    assert set(who["scopes"]) == set(role_scopes("employee"))
    assert who["acts_for"]["email"] == "employee@test.local"

    owner = await make_token("admin", user=people["superadmin"])
    assert (await client.get("/api/v1/users", headers=owner)).status_code == 200
    async with sessionmaker() as s, s.begin():
        await users.set_role(s, user_id=people["superadmin"].id, role="manager", actor_id=None)
    refused = await client.get("/api/v1/users", headers=owner)
    assert refused.status_code == 403 and refused.json()["required_scope"] == "users:admin"
    # the token holds the scope: the user's role is what refuses it, and the message says so
    assert refused.json()["detail"] == "The user of this token may not use the scope users:admin"
    # a user's token that was never given a scope the role allows: the token lacks it
    reader = await make_token("bugs:read", user=people["employee"])
    lacking = await client.post("/api/v1/bugs", headers=reader, json={})
    assert lacking.status_code == 403
    assert lacking.json()["detail"] == "This token lacks the scope bugs:write"
    async with sessionmaker() as s, s.begin():
        await users.set_active(s, user_id=people["superadmin"].id, active=False, actor_id=None)
    assert (await client.get("/api/v1/whoami", headers=owner)).status_code == 401


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    from datetime import timedelta

    from devops_center.db import utcnow
    from devops_center.users import tokens as api_tokens
    from devops_center.users.models import ApiToken

    async with sessionmaker() as s, s.begin():
        row, plaintext = await api_tokens.create_token(
            s, name="short", scopes=["bugs:read"], expires_at=utcnow() + timedelta(hours=1)
        )
    auth = {"authorization": f"Bearer {plaintext}"}
    assert (await client.get("/api/v1/bugs", headers=auth)).status_code == 200
    async with sessionmaker() as s, s.begin():
        token = await s.get(ApiToken, row.id)
        assert token is not None and token.last_used_at is not None
        token.expires_at = utcnow() - timedelta(seconds=1)
    assert (await client.get("/api/v1/bugs", headers=auth)).status_code == 401
