"""/api/v1/bugs/{id}/comments, /timeline and /close: the conversation on a bug through the
same support functions as the web page."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import func, select

from devops_center.outbox.models import Job
from devops_center.support.models import BugComment
from devops_center.users.models import User
from tests.api.conftest import BUG, MakeToken


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (20, 160, 60)).save(out, "PNG")
    return out.getvalue()


async def _jobs(sessionmaker: Any, kind: str) -> list[dict[str, Any]]:
    async with sessionmaker() as s:
        return [j.payload for j in (await s.scalars(select(Job).where(Job.kind == kind)))]


async def test_reporter_and_team_talk_and_internal_notes_stay_with_the_team(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    reporter = await make_token("bugs:read", "bugs:write", user=people["employee"])
    team = await make_token("bugs:read", "bugs:write", "bugs:admin", user=people["owner"])
    stranger = await make_token("bugs:read", "bugs:write", user=people["manager"])
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=reporter)).json()
    url = f"/api/v1/bugs/{bug['id']}/comments"

    added = await client.post(
        url, json={"body": "It also fails in Firefox", "internal": False}, headers=reporter
    )
    assert added.status_code == 201, added.text
    mine = added.json()
    assert mine["from_team"] is False and mine["author_name"] == "Test employee"
    assert added.headers["location"] == f"{url}/{mine['id']}"

    reply = await client.post(url, json={"body": "Which version?"}, headers=team)
    note = await client.post(
        url, json={"body": "Probably the CDN again", "internal": True}, headers=team
    )
    assert reply.status_code == note.status_code == 201
    assert reply.json()["from_team"] and note.json()["internal"]

    seen_by_reporter = (await client.get(url, headers=reporter)).json()["items"]
    assert [c["body"] for c in seen_by_reporter] == ["It also fails in Firefox", "Which version?"]
    seen_by_team = (await client.get(url, headers=team)).json()["items"]
    assert [c["internal"] for c in seen_by_team] == [False, False, True]
    hidden = await client.get(f"{url}/{note.json()['id']}", headers=reporter)
    assert hidden.status_code == 404

    # A reporter cannot write an internal note; another employee cannot see the bug.
    refused = await client.post(url, json={"body": "x", "internal": True}, headers=reporter)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "internal"
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.post(url, json={"body": "hi"}, headers=stranger)).status_code == 404
    empty = await client.post(url, json={"body": "   "}, headers=reporter)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    too_long = await client.post(url, json={"body": "x" * 4001}, headers=reporter)
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "body"
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BugComment)) == 3

    # The team's reply (not the note) reaches the reporter.
    told = await _jobs(sessionmaker, "notify.user")
    comment_events = [j for j in told if j.get("event") == "bug_comment"]
    assert comment_events == [
        {
            "user_id": people["employee"].id,
            "event": "bug_comment",
            "bug_id": bug["id"],
            "comment_id": reply.json()["id"],
        }
    ]


async def test_an_image_attached_to_a_comment(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken
) -> None:
    reporter = await make_token("bugs:read", "bugs:write", user=people["employee"])
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=reporter)).json()
    url = f"/api/v1/bugs/{bug['id']}/comments"
    r = await client.post(
        url,
        data={"body": "Here is what I see"},
        files={"attachment": ("what.png", png(), "image/png")},
        headers=reporter,
    )
    assert r.status_code == 201, r.text
    image = await client.get(r.json()["attachment_url"], headers=reporter)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    only_image = await client.post(
        url, data={}, files={"attachment": ("a.png", png(), "image/png")}, headers=reporter
    )
    assert only_image.status_code == 201 and only_image.json()["body"] == ""
    bad = await client.post(
        url, data={"body": "x"}, files={"attachment": ("a.png", b"not an image")}, headers=reporter
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["attachment"]
    none = await client.get(f"{url}/{only_image.json()['id'] + 100}/attachment", headers=reporter)
    assert none.status_code == 404


async def test_timeline_and_the_reporter_closing_their_bug(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    reporter = await make_token("bugs:read", "bugs:write", user=people["employee"])
    team = await make_token("bugs:read", "bugs:write", "bugs:admin", user=people["owner"])
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=reporter)).json()
    await client.patch(f"/api/v1/bugs/{bug['id']}", json={"status": "in_progress"}, headers=team)
    await client.post(f"/api/v1/bugs/{bug['id']}/comments", json={"body": "On it"}, headers=team)
    other = await make_token("bugs:write", user=people["manager"])
    assert (await client.post(f"/api/v1/bugs/{bug['id']}/close", headers=other)).status_code == 404
    closed = await client.post(f"/api/v1/bugs/{bug['id']}/close", headers=reporter)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = await client.post(f"/api/v1/bugs/{bug['id']}/close", headers=reporter)
    assert again.status_code == 200 and again.json()["status"] == "closed"

    items = (await client.get(f"/api/v1/bugs/{bug['id']}/timeline", headers=reporter)).json()[
        "items"
    ]
    assert [(i["kind"], i["new_status"]) for i in items] == [
        ("filed", None),
        ("status", "in_progress"),
        ("comment", None),
        ("status", "closed"),
    ]
    assert items[1]["actor_name"] == "Test owner" and items[3]["actor_name"] == "Test employee"
    assert items[2]["comment"]["body"] == "On it"
    # The reporter closed it: nobody tells them so.
    told = await _jobs(sessionmaker, "notify.user")
    assert [j.get("new") for j in told if j.get("event") == "bug_status"] == ["in_progress"]


async def test_a_retried_comment_is_stored_once(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, sessionmaker: Any
) -> None:
    reporter = await make_token("bugs:read", "bugs:write", user=people["employee"])
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=reporter)).json()
    auth = {**reporter, "idempotency-key": "c-1"}
    first = await client.post(
        f"/api/v1/bugs/{bug['id']}/comments", json={"body": "a"}, headers=auth
    )
    again = await client.post(
        f"/api/v1/bugs/{bug['id']}/comments", json={"body": "a"}, headers=auth
    )
    assert first.json()["id"] == again.json()["id"]
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BugComment)) == 1


async def test_an_integration_is_the_team(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken
) -> None:
    reporter = await make_token("bugs:read", "bugs:write", user=people["employee"])
    helpdesk = await make_token("bugs:read", "bugs:write", name="helpdesk")
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=reporter)).json()
    r = await client.post(
        f"/api/v1/bugs/{bug['id']}/comments",
        json={"body": "Forwarded to the vendor", "internal": True},
        headers=helpdesk,
    )
    assert r.status_code == 201 and r.json()["author_name"] == "helpdesk (API)"
    assert r.json()["from_team"] and r.json()["internal"]


async def test_a_reporter_may_send_30_messages_an_hour_the_team_more(
    client: httpx.AsyncClient, people: dict[str, User], make_token: MakeToken, as_role: Any
) -> None:
    reporter = await make_token("bugs:read", "bugs:write", user=people["employee"])
    team = await make_token("bugs:read", "bugs:write", user=people["owner"])
    bug = (await client.post("/api/v1/bugs", json=BUG, headers=reporter)).json()
    url = f"/api/v1/bugs/{bug['id']}/comments"
    for i in range(30):
        assert (await client.post(url, json={"body": f"n{i}"}, headers=reporter)).status_code == 201
    over = await client.post(url, json={"body": "one more"}, headers=reporter)
    assert over.status_code == 429 and over.json()["type"].endswith("rate-limited")
    for i in range(31):
        assert (await client.post(url, json={"body": f"t{i}"}, headers=team)).status_code == 201
    owner = await as_role("owner")
    page = (await owner.get(f"/admin/bugs/{bug['id']}")).text
    assert f'href="/support/bugs/{bug["id"]}#timeline">Conversation (61)</a>' in page
