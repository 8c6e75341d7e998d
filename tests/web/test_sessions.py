"""Server-side sessions as a browser sees them: the cookie is a random id, and signing
out, a new password, a new role, deactivation, idleness and age each end a session."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from devops_center.db import utcnow
from devops_center.users import service as users
from devops_center.users import signin
from devops_center.users.models import User, UserSession
from tests.conftest import PASSWORD, csrf_token, login, make_settings, post_form

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def cookie_of(client: httpx.AsyncClient) -> str:
    value = client.cookies.get("dcc_session")
    assert value, "no session cookie"
    return value


async def rows(sessionmaker: Any, user_id: int | None = None) -> list[UserSession]:
    async with sessionmaker() as s:
        stmt = select(UserSession).order_by(UserSession.id)
        if user_id is not None:
            stmt = stmt.where(UserSession.user_id == user_id)
        return list((await s.execute(stmt)).scalars())


async def signed_in(client: httpx.AsyncClient) -> bool:
    response = await client.get("/support")
    assert response.status_code in (200, 303)
    return response.status_code == 200


def with_cookie(make_client: Any, value: str, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """Another browser that presents this session cookie (a copied or stolen cookie)."""
    other: httpx.AsyncClient = make_client(ip=ip)
    other.cookies.set("dcc_session", value, domain="testserver.local")
    return other


async def test_the_cookie_is_a_random_id_and_only_its_hash_is_stored(
    client: httpx.AsyncClient, people: dict[str, Any], sessionmaker: Any
) -> None:
    response = await login(client, "employee@test.local")
    assert response.status_code == 303
    header = next(v for k, v in response.headers.multi_items() if v.startswith("dcc_session="))
    assert "httponly" in header.lower() and "samesite=lax" in header.lower()
    assert "max-age=1209600" in header.lower()  # 14 days
    value = cookie_of(client)
    stored = await rows(sessionmaker)
    assert [r.token_hash for r in stored] == [hashlib.sha256(value.encode()).hexdigest()]
    assert stored[0].user_id == people["employee"].id
    # Nothing of the password hash, in the cookie or in anything it decodes to.
    async with sessionmaker() as s:
        pw_hash = (await s.get(User, people["employee"].id)).password_hash
    decoded = base64.urlsafe_b64decode(value.split(".")[0] + "==")
    for tail in (pw_hash[-12:], pw_hash[-8:]):
        assert tail not in value and tail.encode() not in decoded
    assert len(value) >= 40 and "." not in value  # a random id, not a signed payload


async def test_sign_out_ends_the_session_on_the_server(
    client: httpx.AsyncClient, make_client: Any, people: dict[str, Any], sessionmaker: Any
) -> None:
    await login(client, "employee@test.local")
    copied = cookie_of(client)
    response = await post_form(client, "/logout", {}, form_page="/support")
    assert response.status_code == 303
    assert 'dcc_session=""' in response.headers["set-cookie"]
    assert await rows(sessionmaker) == []
    # The cookie as it was before signing out no longer signs anyone in.
    replay = with_cookie(make_client, copied)
    assert not await signed_in(replay)


async def test_a_new_id_at_every_sign_in(
    client: httpx.AsyncClient, make_client: Any, people: dict[str, Any], sessionmaker: Any
) -> None:
    """Session fixation: a cookie planted before sign-in never becomes a session."""
    client.cookies.set("dcc_session", "planted-by-an-attacker", domain="testserver.local")
    await login(client, "employee@test.local")
    first = cookie_of(client)
    assert first != "planted-by-an-attacker"
    assert not await signed_in(with_cookie(make_client, "planted-by-an-attacker"))
    # Signing in again (another account on the same browser) replaces the session.
    again = await post_form(
        client,
        "/login",
        {"email": "manager@test.local", "password": PASSWORD},
        form_page="/support",
    )
    assert again.status_code == 303
    assert cookie_of(client) != first
    assert not await signed_in(with_cookie(make_client, first))
    assert [r.user_id for r in await rows(sessionmaker)] == [people["manager"].id]


async def test_an_unknown_cookie_is_cleared(make_client: Any) -> None:
    stale = with_cookie(make_client, "x" * 43)
    response = await stale.get("/support")
    assert response.status_code == 303
    assert 'dcc_session=""' in response.headers["set-cookie"]


@pytest.mark.parametrize("change", ["password", "role", "deactivate"])
async def test_account_changes_end_every_session_of_that_user(
    make_client: Any, as_role: Any, people: dict[str, Any], sessionmaker: Any, change: str
) -> None:
    phone, laptop = await as_role("manager"), await as_role("manager")
    bystander = await as_role("employee")
    async with sessionmaker() as s, s.begin():
        uid = people["manager"].id
        if change == "password":
            await users.set_password(s, user_id=uid, password="a brand new password")
        elif change == "role":
            await users.set_role(s, user_id=uid, role="owner", actor_id=None)
        else:
            await users.set_active(s, user_id=uid, active=False, actor_id=None)
    assert not await signed_in(phone) and not await signed_in(laptop)
    assert await rows(sessionmaker, people["manager"].id) == []
    assert await signed_in(bystander)


async def test_idle_timeout_and_absolute_lifetime(
    make_client: Any, people: dict[str, Any], sessionmaker: Any
) -> None:
    a, b = make_client(), make_client()
    await login(a, "employee@test.local")
    await login(b, "employee@test.local")
    now = utcnow()
    a_hash = hashlib.sha256(cookie_of(a).encode()).hexdigest()
    b_hash = hashlib.sha256(cookie_of(b).encode()).hexdigest()
    async with sessionmaker() as s, s.begin():
        # a: unused for 12 hours and a minute (the default idle timeout is 12 hours)
        await s.execute(
            update(UserSession)
            .where(UserSession.token_hash == a_hash)
            .values(last_seen_at=now - timedelta(hours=12, minutes=1))
        )
        # b: used a minute ago, but signed in 14 days ago: past its absolute end
        await s.execute(
            update(UserSession)
            .where(UserSession.token_hash == b_hash)
            .values(created_at=now - timedelta(days=14), expires_at=now - timedelta(seconds=1))
        )
    assert not await signed_in(a)
    assert not await signed_in(b)


async def test_the_idle_timeout_is_configurable(
    db_url: str, tmp_path: Any, engine: Any, sessionmaker: Any, people: dict[str, Any]
) -> None:
    from devops_center.web.app import create_app

    settings = make_settings(db_url, tmp_path, session_idle_hours=1, session_lifetime_days=2)
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await login(c, "employee@test.local")
        assert "max-age=172800" in response.headers["set-cookie"].lower()
        async with sessionmaker() as s, s.begin():
            await s.execute(
                update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=50))
            )
        assert await signed_in(c)  # 50 minutes idle: still there, and seen again now
        async with sessionmaker() as s, s.begin():
            await s.execute(
                update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=61))
            )
        assert not await signed_in(c)


async def test_last_seen_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, people: dict[str, Any], sessionmaker: Any
) -> None:
    await login(client, "employee@test.local")
    half_a_minute_ago = utcnow() - timedelta(seconds=30)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(UserSession).values(last_seen_at=half_a_minute_ago))
    for _ in range(3):
        assert await signed_in(client)
    (row,) = await rows(sessionmaker)
    assert abs((row.last_seen_at - half_a_minute_ago).total_seconds()) < 0.01  # untouched
    async with sessionmaker() as s, s.begin():
        await s.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
    assert await signed_in(client)
    (row,) = await rows(sessionmaker)
    assert utcnow() - row.last_seen_at < timedelta(seconds=5)


async def test_sessions_are_shared_by_every_web_process(
    settings: Any, engine: Any, sessionmaker: Any, people: dict[str, Any]
) -> None:
    """Two apps on one database (two processes): a session from one works on the other,
    and signing out on the other ends it for the first."""
    from devops_center.web.app import create_app

    def browser(app: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    one = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    two = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    async with browser(one) as a, browser(two) as b:
        await login(a, "employee@test.local")
        b.cookies.set("dcc_session", cookie_of(a), domain="testserver.local")
        assert await signed_in(b)
        await post_form(b, "/logout", {}, form_page="/support")
        assert not await signed_in(a)


async def test_the_bots_sign_in_link_starts_a_session(
    make_client: Any, people: dict[str, Any], sessionmaker: Any
) -> None:
    async with sessionmaker() as s, s.begin():
        token = await signin.create_login_link(s, user_id=people["employee"].id)
    browser = make_client(ip="192.0.2.44")
    response = await browser.get(f"/auth/link/{token}", headers={"user-agent": IPHONE})
    assert response.status_code == 303
    (row,) = await rows(sessionmaker)
    assert row.user_id == people["employee"].id
    assert row.ip == "192.0.2.44" and row.user_agent == IPHONE
    assert await signed_in(browser)


async def test_the_language_of_an_anonymous_visitor_is_a_cookie_not_a_session(
    client: httpx.AsyncClient, people: dict[str, Any], sessionmaker: Any
) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/language", data={"csrftoken": token, "language": "ru", "next": "/login"}
    )
    assert response.status_code == 303
    assert "dcc_lang=ru" in response.headers["set-cookie"]
    assert "dcc_session" not in response.headers["set-cookie"]
    assert '<html lang="ru">' in (await client.get("/login")).text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(UserSession)) == 0
    # Signed in with an English profile, then out again: the browser's choice is back.
    await login(client, "employee@test.local")
    assert '<html lang="en">' in (await client.get("/support")).text
    await post_form(client, "/logout", {}, form_page="/support")
    assert '<html lang="ru">' in (await client.get("/login")).text


async def test_expired_sessions_are_purged_by_the_periodic_job(
    settings: Any, sessionmaker: Any, people: dict[str, Any], as_role: Any
) -> None:
    from devops_center import worker
    from devops_center.outbox import messages
    from devops_center.outbox import service as outbox
    from devops_center.outbox.registry import PERIODIC

    worker.load_job_kinds()
    assert PERIODIC["users.purge_sessions"].every == timedelta(hours=1)
    live = await as_role("employee")
    await as_role("manager")
    await as_role("owner")
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(UserSession)
            .where(UserSession.user_id == people["manager"].id)
            .values(last_seen_at=utcnow() - timedelta(hours=13))
        )
        await s.execute(
            update(UserSession)
            .where(UserSession.user_id == people["owner"].id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.PurgeSessions())
    await worker.drain(settings, sessionmaker, kinds=[messages.PurgeSessions.kind])
    assert [r.user_id for r in await rows(sessionmaker)] == [people["employee"].id]
    assert await signed_in(live)


# ----------------------------------------------------------------- the Sessions page


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_sessions_page_lists_and_ends_my_other_sessions(
    make_client: Any, people: dict[str, Any], sessionmaker: Any, lang: str
) -> None:
    laptop = make_client(ip="192.0.2.10")
    laptop.headers["user-agent"] = FIREFOX
    phone = make_client(ip="192.0.2.20")
    phone.headers["user-agent"] = IPHONE
    colleague = make_client(ip="192.0.2.30")
    await login(laptop, "employee@test.local")
    await login(phone, "employee@test.local")
    await login(colleague, "manager@test.local")
    async with sessionmaker() as s, s.begin():
        await users.set_language(s, user_id=people["employee"].id, language=lang)

    page = await laptop.get("/account/sessions")
    assert page.status_code == 200
    text = page.text
    assert ("Сеансы" if lang == "ru" else "<h1>Sessions</h1>") in text
    assert '<a href="/account/sessions"' in text  # the header links here
    assert "Firefox 131, Windows" in text and "Mobile Safari 17, iOS" in text
    assert "192.0.2.10" in text and "192.0.2.20" in text and "192.0.2.30" not in text
    this_device = "Это устройство" if lang == "ru" else "This device"
    assert text.count(this_device) == 1
    assert text.index("Firefox 131") < text.index(this_device) < text.index("Mobile Safari")

    mine = {r.user_agent: r.id for r in await rows(sessionmaker, people["employee"].id)}
    theirs = (await rows(sessionmaker, people["manager"].id))[0].id
    # Someone else's session: not found, and it goes on.
    refused = await post_form(laptop, f"/account/sessions/{theirs}/end", {}, form_page="/support")
    assert refused.status_code == 404
    assert await signed_in(colleague)
    # My phone's session ends; my laptop's goes on.
    ended = await post_form(
        laptop, f"/account/sessions/{mine[IPHONE]}/end", {}, form_page="/account/sessions"
    )
    assert ended.status_code == 303
    assert ended.headers["location"] == "/account/sessions?ended=1"
    assert not await signed_in(phone)
    assert await signed_in(laptop)
    notice = (await laptop.get("/account/sessions?ended=1")).text
    assert ("1 сеанс завершён" if lang == "ru" else "1 session ended.") in notice


async def test_sign_out_everywhere_else(make_client: Any, people: dict[str, Any]) -> None:
    here, *elsewhere = [make_client(ip=f"192.0.2.{n}") for n in (1, 2, 3)]
    for c in (here, *elsewhere):
        await login(c, "owner@test.local")
    response = await post_form(
        here, "/account/sessions/end-others", {}, form_page="/account/sessions"
    )
    assert response.headers["location"] == "/account/sessions?ended=2"
    assert await signed_in(here)
    assert not any([await signed_in(c) for c in elsewhere])
    page = (await here.get("/account/sessions")).text
    assert "Sign out everywhere else" not in page  # nothing else to end


async def test_ending_this_devices_session_signs_out(
    client: httpx.AsyncClient, people: dict[str, Any], sessionmaker: Any
) -> None:
    await login(client, "employee@test.local")
    (row,) = await rows(sessionmaker)
    response = await post_form(
        client, f"/account/sessions/{row.id}/end", {}, form_page="/account/sessions"
    )
    assert response.headers["location"] == "/login"
    assert not await signed_in(client)


async def test_change_my_password(
    make_client: Any, people: dict[str, Any], sessionmaker: Any
) -> None:
    me, my_phone = make_client(ip="192.0.2.1"), make_client(ip="192.0.2.2")
    await login(me, "employee@test.local")
    await login(my_phone, "employee@test.local")
    before = cookie_of(me)

    wrong = await post_form(
        me,
        "/account/password",
        {"current": "not my password", "new": "n3w password!", "again": "n3w password!"},
        form_page="/account/sessions",
    )
    assert wrong.status_code == 400
    assert "The current password is wrong" in wrong.text
    differ = await post_form(
        me,
        "/account/password",
        {"current": PASSWORD, "new": "n3w password!", "again": "n3w passw0rd!"},
        form_page="/account/sessions",
    )
    assert differ.status_code == 422 and "The two new passwords differ" in differ.text
    assert await signed_in(my_phone)  # nothing changed yet

    done = await post_form(
        me,
        "/account/password",
        {"current": PASSWORD, "new": "n3w password!", "again": "n3w password!"},
        form_page="/account/sessions",
    )
    assert done.status_code == 303 and done.headers["location"] == "/account/sessions?changed=1"
    assert cookie_of(me) != before  # this device goes on, with a new session id
    assert await signed_in(me)
    assert not await signed_in(my_phone)
    assert not await signed_in(with_cookie(make_client, before))
    page = (await me.get("/account/sessions?changed=1")).text
    assert "Password changed. Every other session was signed out." in page
    assert (await login(make_client(ip="192.0.2.3"), "employee@test.local")).status_code == 400
    fresh = make_client(ip="192.0.2.4")
    assert (await login(fresh, "employee@test.local", "n3w password!")).status_code == 303


async def test_guessing_the_current_password_is_throttled(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    await login(client, "employee@test.local")
    statuses = []
    for _ in range(6):
        response = await post_form(
            client,
            "/account/password",
            {"current": "guess", "new": "n3w password!", "again": "n3w password!"},
            form_page="/account/sessions",
        )
        statuses.append(response.status_code)
    assert statuses == [400] * 5 + [429]
    assert "Too many failed sign-in attempts" in response.text


async def test_a_telegram_user_without_a_password_sees_no_password_form(
    make_client: Any, sessionmaker: Any
) -> None:
    async with sessionmaker() as s, s.begin():
        user = await users.create_user(s, name="Tg", telegram_id=42, language="en")
        token = await signin.create_login_link(s, user_id=user.id)
    browser = make_client()
    await browser.get(f"/auth/link/{token}")
    page = (await browser.get("/account/sessions")).text
    assert "Your account has no password" in page
    assert 'action="/account/password' not in page
