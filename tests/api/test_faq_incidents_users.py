"""/api/v1/faq, /api/v1/incidents, /api/v1/users: the web's services, through the API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from devops_center.users.models import AuditLog, User, UserSession
from tests.api.conftest import MakeToken
from tests.conftest import login


def faq(question: str, category: str = "Access", language: str = "en") -> dict[str, Any]:
    return {"language": language, "category": category, "question": question, "answer": "Yes."}


async def test_faq_crud_and_reorder(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    writer = await make_token("faq:read", "faq:write", user=people["owner"])
    reader = await make_token("faq:read", user=people["employee"])
    ids = []
    for q in ("How do I sign in?", "Where is the VPN?", "Who fixes printers?"):
        r = await client.post("/api/v1/faq", json=faq(q), headers=writer)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    await client.post("/api/v1/faq", json=faq("Как войти?", language="ru"), headers=writer)
    listed = (await client.get("/api/v1/faq", params={"language": "en"}, headers=reader)).json()
    assert [e["id"] for e in listed["items"]] == ids
    one = await client.get(f"/api/v1/faq/{ids[1]}", headers=reader)
    assert one.json()["question"] == "Where is the VPN?"
    assert one.json()["views_count"] == 0  # API reads are not views

    changed = await client.put(
        f"/api/v1/faq/{ids[1]}", json=faq("Where is the VPN guide?", "Network"), headers=writer
    )
    assert changed.status_code == 200 and changed.json()["category"] == "Network"
    empty = await client.put(
        f"/api/v1/faq/{ids[1]}", json={**faq(" "), "answer": " "}, headers=writer
    )
    assert empty.status_code == 422
    assert {e["field"] for e in empty.json()["errors"]} == {"question", "answer"}

    order = await client.post(
        "/api/v1/faq/reorder", json={"language": "en", "ids": [ids[2], ids[0]]}, headers=writer
    )
    assert [e["id"] for e in order.json()["items"]] == [ids[2], ids[0], ids[1]]
    listed = (await client.get("/api/v1/faq", params={"language": "en"}, headers=reader)).json()
    assert [e["id"] for e in listed["items"]] == [ids[2], ids[0], ids[1]]
    foreign = await client.post(
        "/api/v1/faq/reorder", json={"language": "ru", "ids": [ids[0]]}, headers=writer
    )
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "ids"

    assert (await client.delete(f"/api/v1/faq/{ids[0]}", headers=writer)).status_code == 204
    assert (await client.get(f"/api/v1/faq/{ids[0]}", headers=reader)).status_code == 404
    refused = await client.delete(f"/api/v1/faq/{ids[1]}", headers=reader)
    assert refused.status_code == 403
    async with sessionmaker() as s:
        actions = list((await s.execute(select(AuditLog.action))).scalars())
    assert {"create", "update", "reorder", "delete"} <= set(actions)


async def test_incidents_open_list_resolve(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken
) -> None:
    auth = await make_token("incidents:read", "incidents:write", user=people["owner"])
    integration = await make_token("incidents:write", "incidents:read", name="pager")
    r = await client.post(
        "/api/v1/incidents",
        json={"title": "Payments down", "severity": "critical", "service": "shop"},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert (
        first["is_open"]
        and first["source"] == "manual"
        and first["opened_by"] == people["owner"].id
    )
    second = (
        await client.post("/api/v1/incidents", json={"title": "Slow search"}, headers=integration)
    ).json()
    assert second["opened_by"] is None and second["severity"] == "high"
    open_now = (await client.get("/api/v1/incidents", params={"open": True}, headers=auth)).json()
    assert [i["id"] for i in open_now["items"]] == [second["id"], first["id"]]
    page = (await client.get("/api/v1/incidents", params={"limit": 1}, headers=auth)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await client.get(
        "/api/v1/incidents", params={"limit": 1, "cursor": page["next_cursor"]}, headers=auth
    )
    assert [i["id"] for i in rest.json()["items"]] == [first["id"]]
    resolved = await client.post(f"/api/v1/incidents/{first['id']}/resolve", headers=auth)
    assert resolved.status_code == 200 and not resolved.json()["is_open"]
    assert resolved.json()["resolved_by"] == people["owner"].id
    again = await client.post(f"/api/v1/incidents/{first['id']}/resolve", headers=auth)
    assert again.json()["resolved_at"] == resolved.json()["resolved_at"]
    missing = await client.get("/api/v1/incidents/999", headers=auth)
    assert missing.status_code == 404
    bad = await client.post("/api/v1/incidents", json={"title": ""}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "title"


async def test_users_create_role_deactivate(
    client: httpx.AsyncClient,
    people: dict[str, User],
    make_token: MakeToken,
    make_client: Any,
    sessionmaker: Any,
) -> None:
    auth = await make_token("users:admin", user=people["owner"])
    listed = await client.get("/api/v1/users", headers=auth)
    assert listed.status_code == 200
    assert all(
        "password" not in "".join(u) and "hash" not in "".join(u) for u in listed.json()["items"]
    )
    assert "password_hash" not in listed.text and "$argon2" not in listed.text

    r = await client.post(
        "/api/v1/users",
        json={"name": "Dana", "email": "Dana@Test.local", "role": "manager", "password": "x" * 12},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    dana = r.json()
    assert dana["email"] == "dana@test.local" and dana["role"] == "manager"
    assert "$argon2" not in r.text
    dup = await client.post(
        "/api/v1/users", json={"name": "Dana 2", "email": "dana@test.local"}, headers=auth
    )
    assert dup.status_code == 409 and dup.headers["content-type"] == "application/problem+json"

    browser = make_client()
    assert (await login(browser, "dana@test.local", "x" * 12)).status_code == 303
    promoted = await client.patch(
        f"/api/v1/users/{dana['id']}", json={"role": "owner"}, headers=auth
    )
    assert promoted.json()["role"] == "owner"
    async with sessionmaker() as s:  # the new role means signing in again
        left = await s.scalar(select(UserSession).where(UserSession.user_id == dana["id"]))
    assert left is None
    assert (await login(browser, "dana@test.local", "x" * 12)).status_code == 303
    off = await client.patch(f"/api/v1/users/{dana['id']}", json={"is_active": False}, headers=auth)
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert (await browser.get("/support")).status_code == 303  # signed out at once
    async with sessionmaker() as s:
        assert await s.scalar(select(UserSession).where(UserSession.user_id == dana["id"])) is None
        rows = list((await s.execute(select(AuditLog).where(AuditLog.entity == "user"))).scalars())
    assert {r.action for r in rows} >= {"create", "set_role", "deactivate"}
    assert all(r.ip == "127.0.0.1" for r in rows)

    # The last owner stays an owner, whoever asks.
    last = await client.patch(
        f"/api/v1/users/{people['owner'].id}", json={"is_active": False}, headers=auth
    )
    assert last.status_code == 409
