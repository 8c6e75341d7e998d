"""/admin/users, /invite/<token> and /admin/audit (+ /api/v1/audit): the team on the web."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from devops_center.users import service as users
from devops_center.users import tokens as api_tokens
from devops_center.users.models import AuditLog, Invite, User, UserSession
from tests.conftest import PASSWORD, csrf_token, login, post_form

LINK_RE = re.compile(r'<code class="invite-link" id="invite-link">([^<]+)</code>')


async def _audit(sessionmaker: Any) -> list[tuple[str, str, int | None, str | None]]:
    async with sessionmaker() as s:
        rows = (await s.execute(select(AuditLog).order_by(AuditLog.id))).scalars()
        return [(a.entity, a.action, a.actor_id, a.ip) for a in rows]


async def test_an_owner_changes_a_role_and_the_session_ends_at_once(
    as_role: Any, people: dict[str, User], sessionmaker: Any
) -> None:
    owner = await as_role("owner")
    employee = await as_role("employee")
    assert (await employee.get("/support")).status_code == 200
    page = await owner.get("/admin/users")
    assert page.status_code == 200
    assert "Test employee" in page.text and "Last sign-in" in page.text
    changed = await post_form(
        owner,
        f"/admin/users/{people['employee'].id}/role",
        {"role": "manager"},
        form_page="/admin/users",
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/admin/users?done=role"
    assert (await employee.get("/support")).status_code == 303  # signed out, at once
    async with sessionmaker() as s:
        assert (await s.get(User, people["employee"].id)).role == "manager"
    owner_id = people["owner"].id
    assert ("user", "set_role", owner_id, "127.0.0.1") in await _audit(sessionmaker)


async def test_deactivate_and_reactivate(
    as_role: Any, make_client: Any, people: dict[str, User], sessionmaker: Any
) -> None:
    admin = await as_role("superadmin")
    manager = await as_role("manager")
    target = people["manager"].id
    off = await post_form(
        admin, f"/admin/users/{target}/active", {"active": "0"}, form_page="/admin/users"
    )
    assert off.headers["location"] == "/admin/users?done=deactivated"
    assert (await manager.get("/support")).status_code == 303
    async with sessionmaker() as s:
        assert (
            await s.execute(select(UserSession).where(UserSession.user_id == target))
        ).first() is None
    refused = await login(make_client(), "manager@test.local")
    assert refused.status_code == 400
    page = await admin.get("/admin/users?done=deactivated")
    assert "signed out everywhere" in page.text and "Reactivate" in page.text
    on = await post_form(
        admin, f"/admin/users/{target}/active", {"active": "1"}, form_page="/admin/users"
    )
    assert on.headers["location"] == "/admin/users?done=activated"
    assert (await login(make_client(), "manager@test.local")).status_code == 303
    actions = [a[1] for a in await _audit(sessionmaker)]
    assert actions == ["deactivate", "activate"]


async def test_the_last_owner_cannot_be_demoted_or_deactivated(
    as_role: Any, people: dict[str, User], sessionmaker: Any
) -> None:
    owner = await as_role("owner")
    me = people["owner"].id
    demoted = await post_form(
        owner, f"/admin/users/{me}/role", {"role": "employee"}, form_page="/admin/users"
    )
    assert demoted.status_code == 409
    assert "The last owner cannot be removed" in demoted.text
    off = await post_form(
        owner, f"/admin/users/{me}/active", {"active": "0"}, form_page="/admin/users"
    )
    assert off.status_code == 409
    async with sessionmaker() as s:
        user = await s.get(User, me)
        assert user.role == "owner" and user.is_active
    assert await _audit(sessionmaker) == []
    # with a second owner, the first may step down
    async with sessionmaker() as s, s.begin():
        await users.set_role(s, user_id=people["manager"].id, role="owner", actor_id=me)
    again = await post_form(
        owner, f"/admin/users/{me}/role", {"role": "manager"}, form_page="/admin/users"
    )
    assert again.status_code == 303


async def test_employees_and_managers_may_not(as_role: Any, people: dict[str, User]) -> None:
    for role in ("employee", "manager"):
        c = await as_role(role)
        assert (await c.get("/admin/users")).status_code == 403
        assert (await c.get("/admin/audit")).status_code == 403
        token = await csrf_token(c, "/support")
        answer = await c.post(
            f"/admin/users/{people['owner'].id}/role",
            data={"csrftoken": token, "role": "employee"},
        )
        assert answer.status_code == 403


async def test_an_email_invitation_from_link_to_signed_in(
    as_role: Any, make_client: Any, sessionmaker: Any, people: dict[str, User]
) -> None:
    owner = await as_role("owner")
    made = await post_form(
        owner,
        "/admin/users/invite",
        {"channel": "email", "email": "New.Person@Example.com", "role": "manager", "name": ""},
        form_page="/admin/users",
    )
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    link = LINK_RE.search(made.text)
    assert link, made.text
    url = link.group(1)
    assert url.startswith("http://127.0.0.1:8001/invite/")
    assert "Send this text to new.person@example.com" in made.text
    path = url.removeprefix("http://127.0.0.1:8001")
    listed = await owner.get("/admin/users")
    assert "new.person@example.com" in listed.text and path not in listed.text

    newcomer = make_client("10.1.2.3")
    form = await newcomer.get(path)
    assert form.status_code == 200 and "You are invited as Manager" in form.text
    token = await csrf_token(newcomer, path)
    mismatch = await newcomer.post(
        path, data={"csrftoken": token, "name": "Nina", "password": PASSWORD, "again": "other one"}
    )
    assert mismatch.status_code == 422 and "The two passwords differ" in mismatch.text
    joined = await newcomer.post(
        path, data={"csrftoken": token, "name": "Nina", "password": PASSWORD, "again": PASSWORD}
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/support"
    assert "Hello, Nina!" in (await newcomer.get("/support")).text
    async with sessionmaker() as s:
        nina = (await s.execute(select(User).where(User.name == "Nina"))).scalar_one()
        assert (nina.email, nina.role) == ("new.person@example.com", "manager")
        assert nina.last_login_at is not None
    # used up
    again = await make_client().get(path)
    assert again.status_code == 403 and "invalid, used or expired" in again.text
    log = await _audit(sessionmaker)
    assert ("invite", "create", people["owner"].id, "127.0.0.1") in log
    assert ("invite", "accept", nina.id, "10.1.2.3") in log


async def test_invitation_refusals_and_revoking(
    as_role: Any, client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    owner = await as_role("owner")
    taken = await post_form(
        owner,
        "/admin/users/invite",
        {"channel": "email", "email": "employee@test.local", "role": "employee"},
        form_page="/admin/users",
    )
    assert taken.status_code == 422 and "already exists" in taken.text
    # a Telegram invitation while the bot's name is unknown: made, but no link to show
    tg = await post_form(
        owner,
        "/admin/users/invite",
        {"channel": "telegram", "role": "employee", "name": "Pavel"},
        form_page="/admin/users",
    )
    assert tg.status_code == 201 and "name is not known yet" in tg.text
    async with sessionmaker() as s:
        invite = (await s.execute(select(Invite))).scalar_one()
    revoked = await post_form(
        owner, f"/admin/users/invites/{invite.id}/revoke", {}, form_page="/admin/users"
    )
    assert revoked.headers["location"] == "/admin/users?done=revoked"
    assert "Pavel" not in (await owner.get("/admin/users")).text
    assert (await client.get("/invite/not-a-token")).status_code == 403


async def test_the_audit_log_page_and_api(
    as_role: Any, client: httpx.AsyncClient, people: dict[str, User], sessionmaker: Any
) -> None:
    owner = await as_role("owner")
    await post_form(
        owner,
        f"/admin/users/{people['employee'].id}/role",
        {"role": "manager"},
        form_page="/admin/users",
    )
    page = await owner.get("/admin/audit")
    assert page.status_code == 200
    assert "changed the role" in page.text and "employee → manager" in page.text
    assert "Test owner" in page.text and "127.0.0.1" in page.text
    assert f"user #{people['employee'].id}" in page.text
    filtered = await owner.get("/admin/audit?entity=token")
    assert "changed the role" not in filtered.text

    async with sessionmaker() as s, s.begin():
        _row, reader = await api_tokens.create_token(s, name="audit", scopes=["audit:read"])
        _row, other = await api_tokens.create_token(s, name="no audit", scopes=["users:admin"])
    api = await client.get(
        "/api/v1/audit?entity=user", headers={"authorization": f"Bearer {reader}"}
    )
    assert api.status_code == 200, api.text
    item = api.json()["items"][0]
    assert item["action"] == "set_role" and item["details"] == {"role": ["employee", "manager"]}
    assert item["actor"]["email"] == "owner@test.local" and item["ip"] == "127.0.0.1"
    denied = await client.get("/api/v1/audit", headers={"authorization": f"Bearer {other}"})
    assert denied.status_code == 403
    # pages: the newest first, then older ones
    first = await client.get("/api/v1/audit?limit=1", headers={"authorization": f"Bearer {reader}"})
    body = first.json()
    assert len(body["items"]) == 1 and body["next_before"] == body["items"][0]["id"]
    older = await client.get(
        f"/api/v1/audit?limit=1&before={body['next_before']}",
        headers={"authorization": f"Bearer {reader}"},
    )
    assert older.json()["items"][0]["id"] < body["items"][0]["id"]


async def test_invitations_through_the_api(
    client: httpx.AsyncClient, sessionmaker: Any, people: dict[str, User]
) -> None:
    async with sessionmaker() as s, s.begin():
        _row, admin = await api_tokens.create_token(
            s, name="hr", scopes=["users:admin"], user_id=people["owner"].id
        )
        _row, reader = await api_tokens.create_token(s, name="reader", scopes=["bugs:read"])
    auth = {"authorization": f"Bearer {admin}"}
    made = await client.post(
        "/api/v1/invites",
        json={"channel": "email", "email": "kai@example.com", "role": "manager"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["link"].startswith("http://127.0.0.1:8001/invite/") and body["role"] == "manager"
    assert made.headers["cache-control"] == "no-store"
    bad = await client.post("/api/v1/invites", json={"channel": "email"}, headers=auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "email"
    listed = (await client.get("/api/v1/invites", headers=auth)).json()["items"]
    assert [i["email"] for i in listed] == ["kai@example.com"] and "link" not in listed[0]
    gone = await client.delete(f"/api/v1/invites/{body['id']}", headers=auth)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/invites", headers=auth)).json()["items"] == []
    denied = await client.get("/api/v1/invites", headers={"authorization": f"Bearer {reader}"})
    assert denied.status_code == 403
    log = await _audit(sessionmaker)
    assert ("invite", "create", people["owner"].id, "127.0.0.1") in log
    assert ("invite", "revoke", people["owner"].id, "127.0.0.1") in log


async def test_an_owner_links_a_github_login_on_the_web(
    as_role: Any, people: dict[str, User], sessionmaker: Any
) -> None:
    owner = await as_role("owner")
    target = people["employee"].id
    url = f"/admin/users/{target}/github"
    bad = await post_form(owner, url, {"github_login": "-not valid-"}, form_page="/admin/users")
    assert bad.status_code == 422 and "Not a GitHub login" in bad.text
    ok = await post_form(owner, url, {"github_login": "@Alice-Dev"}, form_page="/admin/users")
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/users?done=github"
    async with sessionmaker() as s:
        assert (await s.get(User, target)).github_login == "alice-dev"
    page = await owner.get("/admin/users?done=github")
    assert 'value="alice-dev"' in page.text and "GitHub login saved." in page.text
    taken = await post_form(
        owner,
        f"/admin/users/{people['manager'].id}/github",
        {"github_login": "alice-dev"},
        form_page="/admin/users",
    )
    assert taken.status_code == 422 and "Another user has this GitHub login" in taken.text
    audit = [a for a in await _audit(sessionmaker) if a[1] == "set_github_login"]
    assert audit == [("user", "set_github_login", people["owner"].id, "127.0.0.1")]
    employee = await as_role("employee")
    refused = await employee.post(url, data={"github_login": "mallory"})
    assert refused.status_code in (303, 403)
    async with sessionmaker() as s:
        assert (await s.get(User, target)).github_login == "alice-dev"
