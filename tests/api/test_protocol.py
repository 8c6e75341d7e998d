"""The API's transport rules: problem details, Idempotency-Key, ETag, rate limits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, select

from devops_center.apikit.models import IdempotencyRecord
from devops_center.support.models import BugLog
from devops_center.users.models import User
from tests.api.conftest import BUG, MakeToken
from tests.conftest import make_settings

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


async def _bugs(sessionmaker: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(BugLog)) or 0)


async def test_every_error_is_a_problem_document(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    auth = await make_token("bugs:read")
    answers = {
        404: await client.get("/api/v1/bugs/12345", headers=auth),
        405: await client.delete("/api/v1/bugs", headers=auth),
        401: await client.get("/api/v1/bugs"),
        403: await client.get("/api/v1/users", headers=auth),
        422: await client.get("/api/v1/bugs", params={"limit": 0}, headers=auth),
        413: await client.post("/api/v1/faq", content=b"x" * (6 * 1024 * 1024), headers=auth),
    }
    for status, r in answers.items():
        assert r.status_code == status, (status, r.text)
        assert r.headers["content-type"] == "application/problem+json", status
        assert set(r.json()) >= PROBLEM_KEYS and r.json()["status"] == status, r.json()
    assert answers[403].json()["required_scope"] == "users:admin"
    assert answers[422].json()["errors"][0]["field"] == "limit"
    ru = await client.get("/api/v1/bugs/12345", headers={**auth, "accept-language": "ru"})
    assert ru.json()["detail"] != answers[404].json()["detail"]


async def test_a_retried_create_returns_the_first_result(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    auth = await make_token("bugs:write", user=people["employee"])
    key = {"idempotency-key": "8e03978e-40d5-43e8-bc93-6894a57f9324"}
    first = await client.post("/api/v1/bugs", json=BUG, headers={**auth, **key})
    again = await client.post("/api/v1/bugs", json=BUG, headers={**auth, **key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert await _bugs(sessionmaker) == 1
    other = await client.post(
        "/api/v1/bugs", json={**BUG, "title": "Another one"}, headers={**auth, **key}
    )
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-mismatch")
    # A multipart retry draws a new boundary: still the same request.
    form_key = {"idempotency-key": '"form-1"'}
    sent = [
        await client.post(
            "/api/v1/bugs",
            data=BUG,
            files={"screenshot": ("", b"")},
            headers={**auth, **form_key},
        )
        for _ in range(2)
    ]
    assert sent[0].json()["id"] == sent[1].json()["id"]
    # Another token's key space is its own.
    other_auth = await make_token("bugs:write", user=people["employee"])
    mine = await client.post("/api/v1/bugs", json=BUG, headers={**other_auth, **key})
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    bad = await client.post("/api/v1/bugs", json=BUG, headers={**auth, "idempotency-key": ""})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"


async def test_a_kept_answer_goes_only_to_a_token_still_valid(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    """A replay is a request like any other: it counts against the rate limit (and says
    so in its headers), and a token revoked since the first answer gets 401, not it."""
    from devops_center.users.models import ApiToken

    auth = {**await make_token("bugs:write", user=people["employee"]), "idempotency-key": "r1"}
    first = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    again = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    assert again.headers["idempotent-replayed"] == "true"
    left = int(first.headers["ratelimit-remaining"])
    assert int(again.headers["ratelimit-remaining"]) == left - 1
    mismatch = await client.post("/api/v1/bugs", json={**BUG, "title": "Other"}, headers=auth)
    assert mismatch.status_code == 422 and int(mismatch.headers["ratelimit-remaining"]) == left - 2
    async with sessionmaker() as s, s.begin():
        token = (await s.execute(select(ApiToken))).scalars().one()
        token.revoked_at = token.created_at
    refused = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    assert refused.status_code == 401, refused.text
    assert "idempotent-replayed" not in refused.headers
    assert refused.headers["content-type"] == "application/problem+json"
    assert "id" not in refused.json()


async def test_concurrent_retries_file_one_bug(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    auth = {**await make_token("bugs:write", user=people["employee"]), "idempotency-key": "k1"}
    answers = await asyncio.gather(
        *(client.post("/api/v1/bugs", json=BUG, headers=auth) for _ in range(8))
    )
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert len({r.json()["id"] for r in answers if r.status_code == 201}) == 1
    for r in answers:
        if r.status_code == 409:
            assert r.headers["retry-after"] == "1"
    assert await _bugs(sessionmaker) == 1
    later = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    assert later.status_code == 201 and later.headers["idempotent-replayed"] == "true"


async def test_a_lost_record_still_returns_the_first_bug(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    """A crash between filing and keeping the answer: the retry runs again, and the key,
    passed to file_bug as the form token, returns the first bug."""
    auth = {**await make_token("bugs:write", user=people["employee"]), "idempotency-key": "k2"}
    first = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    async with sessionmaker() as s, s.begin():
        await s.execute(delete(IdempotencyRecord))
    again = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    assert again.json()["id"] == first.json()["id"] and "idempotent-replayed" not in again.headers
    assert await _bugs(sessionmaker) == 1


async def test_reads_carry_an_etag(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken
) -> None:
    auth = await make_token("bugs:read", "bugs:write", "bugs:admin", user=people["owner"])
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=auth)).json()
    r = await client.get(f"/api/v1/bugs/{bug['id']}", headers=auth)
    etag = r.headers["etag"]
    assert etag.startswith('"') and r.headers["cache-control"] == "private, no-cache"
    same = await client.get(f"/api/v1/bugs/{bug['id']}", headers={**auth, "if-none-match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    await client.patch(f"/api/v1/bugs/{bug['id']}", json={"priority": "low"}, headers=auth)
    changed = await client.get(f"/api/v1/bugs/{bug['id']}", headers={**auth, "if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    listed = await client.get("/api/v1/bugs", headers=auth)
    assert "etag" in listed.headers


async def test_rate_limit_per_token(
    db_url: str, tmp_path: Path, engine: Any, sessionmaker: Any, make_token: MakeToken
) -> None:
    from devops_center.web.app import create_app

    app = create_app(make_settings(db_url, tmp_path, api_rate_limit=3), sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    auth = await make_token("bugs:read")
    other = await make_token("bugs:read")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        seen = []
        for _ in range(3):
            r = await client.get("/api/v1/bugs", headers=auth)
            assert r.status_code == 200
            assert r.headers["ratelimit-limit"] == "3"
            seen.append(int(r.headers["ratelimit-remaining"]))
        assert seen == [2, 1, 0]
        spent = await client.get("/api/v1/bugs", headers=auth)
        assert spent.status_code == 429
        assert spent.json()["type"].endswith("rate-limited")
        assert 1 <= int(spent.headers["retry-after"]) <= 60
        assert spent.headers["ratelimit-remaining"] == "0"
        assert (await client.get("/api/v1/bugs", headers=other)).status_code == 200
