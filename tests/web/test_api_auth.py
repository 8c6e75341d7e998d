"""Bearer tokens on /api/v1: 401 without, 403 with the wrong scope, JSON errors."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from devops_center.users import tokens as api_tokens
from devops_center.users.models import ApiToken


async def test_token_is_hashed_and_checked(client: httpx.AsyncClient, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        _row, plaintext = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    async with sessionmaker() as s:
        stored = (await s.execute(select(ApiToken))).scalar_one()
    assert plaintext not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64

    ok = await client.get("/api/v1/whoami", headers={"authorization": f"Bearer {plaintext}"})
    assert ok.status_code == 200
    assert ok.json() == {
        "kind": "token",
        "name": "ci",
        "scopes": ["deployments:write"],
        "acts_for": None,
    }

    none = await client.get("/api/v1/whoami")
    assert none.status_code == 401
    assert none.headers["content-type"] == "application/problem+json"
    assert none.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Missing bearer token",
        "instance": "/api/v1/whoami",
    }
    assert none.headers["www-authenticate"] == "Bearer"

    bad = await client.get("/api/v1/whoami", headers={"authorization": "Bearer dcc_nope"})
    assert bad.status_code == 401
    assert bad.json()["detail"] == "Invalid, expired or revoked token"
    russian = await client.get(
        "/api/v1/whoami", headers={"authorization": "Bearer dcc_nope", "accept-language": "ru"}
    )
    assert russian.json()["detail"] != bad.json()["detail"]


async def test_revoked_token_is_refused(client: httpx.AsyncClient, sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        row, plaintext = await api_tokens.create_token(s, name="ci", scopes=["metrics:read"])
    async with sessionmaker() as s, s.begin():
        await api_tokens.revoke_token(s, token_id=row.id)
    r = await client.get("/api/v1/whoami", headers={"authorization": f"Bearer {plaintext}"})
    assert r.status_code == 401


async def test_unknown_scope_is_invalid(sessionmaker) -> None:
    import pytest

    from devops_center.errors import Invalid

    async with sessionmaker() as s, s.begin():
        with pytest.raises(Invalid) as err:
            await api_tokens.create_token(s, name="x", scopes=["root"])
    assert "scope" in err.value.fields
