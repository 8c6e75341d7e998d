"""Sign-in, sign-out, sessions, CSRF and throttling, as a browser sees them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, csrf_token, login


async def test_root_redirects_anonymous_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


async def test_sign_in_and_out(client: httpx.AsyncClient, people: dict[str, Any]) -> None:
    response = await login(client, "employee@test.local")
    assert response.status_code == 303
    assert response.headers["location"] == "/support"
    cookie = response.headers["set-cookie"]
    assert "dcc_session=" in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # http base URL

    page = await client.get("/support")
    assert page.status_code == 200
    assert "Test employee" in page.text

    assert (await client.get("/")).headers["location"] == "/support"

    token = await csrf_token(client, "/support")
    response = await client.post("/logout", data={"csrftoken": token})
    assert response.status_code == 303
    assert (await client.get("/support")).status_code == 303


async def test_wrong_password_is_rejected_with_a_message(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    response = await login(client, "employee@test.local", "wrong password")
    assert response.status_code == 400
    assert "Wrong email or password." in response.text
    assert 'value="employee@test.local"' in response.text  # input kept
    unknown = await login(client, "nobody@test.local", PASSWORD)
    assert unknown.status_code == 400
    assert "Wrong email or password." in unknown.text


async def test_login_without_csrf_token_is_refused(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", data={"email": "employee@test.local", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "reload the page" in response.text
    assert "dcc_session" not in response.headers.get("set-cookie", "")


async def test_cross_site_post_without_cookies_is_refused(
    make_client: Any, people: dict[str, Any]
) -> None:
    fresh = make_client()
    response = await fresh.post(
        "/login", data={"email": "employee@test.local", "password": PASSWORD, "csrftoken": "x"}
    )
    assert response.status_code == 403


async def test_next_parameter_is_never_an_open_redirect(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    for evil in ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"]:
        token = await csrf_token(client)
        response = await client.post(
            "/login",
            data={
                "csrftoken": token,
                "email": "employee@test.local",
                "password": PASSWORD,
                "next": evil,
            },
        )
        assert response.headers["location"] == "/support", evil
        await client.post("/logout", data={"csrftoken": await csrf_token(client, "/support")})


async def test_protected_page_redirects_with_next(client: httpx.AsyncClient) -> None:
    response = await client.get("/support?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsupport%3Fx%3D1"


async def test_an_in_page_request_without_a_session_sends_the_page_to_login(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/admin/status/panel",
        headers={"HX-Request": "true", "HX-Current-URL": "http://t/admin/devops?days=7"},
    )
    assert response.status_code == 200 and response.text == ""
    assert response.headers["HX-Redirect"] == "/login?next=%2Fadmin%2Fdevops%3Fdays%3D7"


async def test_deactivated_user_loses_session(
    client: httpx.AsyncClient, people: dict[str, Any], sessionmaker: Any
) -> None:
    from devops_center.users.models import User

    await login(client, "manager@test.local")
    assert (await client.get("/support")).status_code == 200
    async with sessionmaker() as s, s.begin():
        user = await s.get(User, people["manager"].id)
        user.is_active = False
    assert (await client.get("/support")).status_code == 303


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_login_page_in_both_languages(client: httpx.AsyncClient, lang: str) -> None:
    page = await client.get("/login", headers={"accept-language": lang})
    assert f'<html lang="{lang}">' in page.text
    assert ("Войти" if lang == "ru" else "Sign in") in page.text


async def test_language_switch_sticks_to_the_profile(
    client: httpx.AsyncClient, people: dict[str, Any], sessionmaker: Any
) -> None:
    from devops_center.users.models import User

    await login(client, "employee@test.local")
    token = await csrf_token(client, "/support")
    response = await client.post(
        "/language", data={"csrftoken": token, "language": "ru", "next": "/support"}
    )
    assert response.status_code == 303
    page = await client.get("/support")
    assert '<html lang="ru">' in page.text
    async with sessionmaker() as s:
        assert (await s.get(User, people["employee"].id)).language == "ru"
