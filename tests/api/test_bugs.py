"""/api/v1/bugs: filing through support.file_bug, reading as the caller may, triage."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import func, select

from devops_center.outbox.models import Job
from devops_center.support.models import BugLog
from devops_center.users.models import User
from tests.api.conftest import BUG, MakeToken


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_a_user_token_files_as_its_user_with_a_screenshot(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    auth = await make_token("bugs:read", "bugs:write", user=people["employee"])
    r = await client.post(
        "/api/v1/bugs",
        data={**BUG, "priority": "high"},
        files={"screenshot": ("shot.png", png(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    bug = r.json()
    assert r.headers["location"] == f"/api/v1/bugs/{bug['id']}"
    assert bug["reporter_id"] == people["employee"].id and bug["source"] == "api"
    assert bug["priority"] == "high" and bug["status"] == "open"
    shot = await client.get(bug["screenshot_url"], headers=auth)
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"
    async with sessionmaker() as s:
        row = await s.get(BugLog, bug["id"])
        assert row is not None and row.screenshot_key
        kinds = set((await s.execute(select(Job.kind))).scalars())
    assert "github.create_issue" in kinds  # the same use case as the web form

    as_json = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    assert as_json.status_code == 201 and as_json.json()["screenshot_url"] is None


async def test_invalid_reports_name_every_field_and_store_nothing(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    auth = await make_token("bugs:write", user=people["employee"])
    r = await client.post(
        "/api/v1/bugs", json={**BUG, "title": "x", "priority": "urgent", "extra": 1}, headers=auth
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["type"].endswith("validation")
    assert {e["field"] for e in problem["errors"]} == {"title", "priority", "extra"}
    # The service's own rules (after trimming) name the field too.
    r = await client.post("/api/v1/bugs", json={**BUG, "actual": "   "}, headers=auth)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["actual"]
    bad_image = await client.post(
        "/api/v1/bugs", data=BUG, files={"screenshot": ("x.png", b"not an image")}, headers=auth
    )
    assert bad_image.status_code == 422
    assert [e["field"] for e in bad_image.json()["errors"]] == ["screenshot"]
    not_json = await client.post(
        "/api/v1/bugs", content=b"{", headers={**auth, "content-type": "application/json"}
    )
    assert not_json.status_code == 422
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BugLog)) == 0


async def test_an_integration_names_the_reporter_or_files_as_itself(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    auth = await make_token("bugs:write", "bugs:read", name="helpdesk")
    r = await client.post(
        "/api/v1/bugs", json={**BUG, "reporter_email": "Manager@test.local"}, headers=auth
    )
    assert r.status_code == 201 and r.json()["reporter_id"] == people["manager"].id
    own = await client.post("/api/v1/bugs", json=BUG, headers=auth)
    assert own.status_code == 201
    async with sessionmaker() as s:
        reporter = await s.get(User, own.json()["reporter_id"])
    assert reporter is not None and reporter.name == "helpdesk (API)"
    assert reporter.password_hash is None  # it cannot sign in
    unknown = await client.post(
        "/api/v1/bugs", json={**BUG, "reporter_email": "nobody@test.local"}, headers=auth
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "reporter_email"
    # The integration sees every bug.
    listed = await client.get("/api/v1/bugs", headers=auth)
    assert len(listed.json()["items"]) == 2

    user_auth = await make_token("bugs:write", user=people["employee"])
    other = await client.post(
        "/api/v1/bugs", json={**BUG, "reporter_email": "manager@test.local"}, headers=user_auth
    )
    assert other.status_code == 422


async def test_a_user_sees_their_own_bugs_an_owner_every_bug(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken
) -> None:
    employee = await make_token("bugs:read", "bugs:write", user=people["employee"])
    manager = await make_token("bugs:read", "bugs:write", user=people["manager"])
    owner = await make_token("bugs:read", user=people["owner"])
    mine = (await client.post("/api/v1/bugs", json=BUG, headers=employee)).json()
    theirs = (await client.post("/api/v1/bugs", json=BUG, headers=manager)).json()
    listed = (await client.get("/api/v1/bugs", headers=employee)).json()
    assert [b["id"] for b in listed["items"]] == [mine["id"]]
    # Asking for someone else's bugs does not widen the view.
    asked = await client.get(
        "/api/v1/bugs", params={"reporter": people["manager"].id}, headers=employee
    )
    assert asked.json()["items"] == []
    assert (await client.get(f"/api/v1/bugs/{theirs['id']}", headers=employee)).status_code == 404
    every = (await client.get("/api/v1/bugs", headers=owner)).json()
    assert {b["id"] for b in every["items"]} == {mine["id"], theirs["id"]}


async def test_filters_and_a_stable_cursor(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    auth = await make_token("bugs:read", "bugs:write", "bugs:admin", user=people["owner"])
    ids = []
    for i in range(7):
        r = await client.post(
            "/api/v1/bugs",
            json={**BUG, "title": f"Bug number {i}", "priority": "low" if i % 2 else "high"},
            headers=auth,
        )
        ids.append(r.json()["id"])
    # Some share one filing time: the id breaks the tie.
    same = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    async with sessionmaker() as s, s.begin():
        for bug_id in ids[2:5]:
            (await s.get(BugLog, bug_id)).created_at = same  # type: ignore[union-attr]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/bugs", params=params, headers=auth)).json()
        seen += [b["id"] for b in page["items"]]
        if len(seen) == 2:  # a bug filed while paging neither shifts nor repeats anything
            await client.post("/api/v1/bugs", json=BUG, headers=auth)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))

    high = (await client.get("/api/v1/bugs", params={"priority": "high"}, headers=auth)).json()
    assert {b["priority"] for b in high["items"]} == {"high"} and len(high["items"]) == 4
    text = (await client.get("/api/v1/bugs", params={"q": "number 3"}, headers=auth)).json()
    assert [b["title"] for b in text["items"]] == ["Bug number 3"]
    window = await client.get(
        "/api/v1/bugs",
        params={
            "created_from": same.isoformat(),
            "created_to": (same + timedelta(seconds=1)).isoformat(),
        },
        headers=auth,
    )
    assert sorted(b["id"] for b in window.json()["items"]) == sorted(ids[2:5])
    await client.patch(
        f"/api/v1/bugs/{ids[0]}", json={"assignee_id": people["owner"].id}, headers=auth
    )
    assigned = await client.get(
        "/api/v1/bugs", params={"assignee": people["owner"].id}, headers=auth
    )
    assert [b["id"] for b in assigned.json()["items"]] == [ids[0]]
    bad = await client.get("/api/v1/bugs", params={"cursor": "nonsense!"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_triage_needs_an_owner(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    employee = await make_token("bugs:write", user=people["employee"])
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=employee)).json()
    # A token may not hold bugs:admin for an employee at all...
    owner = await make_token("bugs:admin", user=people["owner"])
    r = await client.patch(
        f"/api/v1/bugs/{bug['id']}",
        json={"status": "in_progress", "assignee_id": people["owner"].id},
        headers=owner,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress" and r.json()["assignee_id"] == people["owner"].id
    unassign = await client.patch(
        f"/api/v1/bugs/{bug['id']}", json={"assignee_id": None}, headers=owner
    )
    assert unassign.json()["assignee_id"] is None and unassign.json()["status"] == "in_progress"
    nobody = await client.patch(
        f"/api/v1/bugs/{bug['id']}", json={"assignee_id": 999999}, headers=owner
    )
    assert nobody.status_code == 422 and nobody.json()["errors"][0]["field"] == "assignee_id"
    async with sessionmaker() as s:
        kinds = list((await s.execute(select(Job.kind))).scalars())
    assert "notify.user" in kinds  # the reporter hears of the status change
