"""Error pages follow the visitor: a signed-in user sees their navigation and language on
a 404, 403 or 500; an anonymous visitor gets Accept-Language. A 500 is logged with a
reference shown on the page. Database errors: only a database that is away is a 503; a
unique violation is a 409 and a value it cannot store a 422, each with a message.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import Depends
from sqlalchemy import text

from devops_center.users.models import User
from devops_center.web.deps import SessionDep, prepare_page
from tests.conftest import post_form

NAV_SIGNED_IN = 'href="/support/my-bugs"'


async def _russian(as_role: Any, role: str) -> httpx.AsyncClient:
    c: httpx.AsyncClient = await as_role(role)
    response = await post_form(
        c, "/language", {"language": "ru", "next": "/support"}, form_page="/support"
    )
    assert response.status_code == 303
    return c


async def test_404_for_a_signed_in_russian_user_is_russian_with_navigation(
    as_role: Any,
) -> None:
    c = await _russian(as_role, "employee")
    response = await c.get("/no-such-page", headers={"accept-language": "en"})
    assert response.status_code == 404
    assert '<html lang="ru">' in response.text
    assert "Не найдено" in response.text
    assert NAV_SIGNED_IN in response.text and "Выйти" in response.text
    assert 'href="/admin/devops"' not in response.text  # an employee's navigation


async def test_404_for_an_admin_shows_the_admin_navigation(as_role: Any) -> None:
    c = await as_role("owner")
    response = await c.get("/static/no-such-file.css")
    assert response.status_code == 404
    assert 'href="/admin/devops"' in response.text and "Sign out" in response.text


async def test_404_for_an_anonymous_visitor_follows_accept_language(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/no-such-page", headers={"accept-language": "ru-RU,ru;q=0.9"})
    assert response.status_code == 404
    assert "Не найдено" in response.text
    assert NAV_SIGNED_IN not in response.text
    english = await client.get("/no-such-page", headers={"accept-language": "en"})
    assert "Not found" in english.text and "There is no page at this address." in english.text


async def test_403_for_a_russian_employee_is_russian_with_navigation(as_role: Any) -> None:
    c = await _russian(as_role, "employee")
    response = await c.get("/admin/bugs")
    assert response.status_code == 403
    assert "Доступ запрещён" in response.text
    assert NAV_SIGNED_IN in response.text


async def _boom() -> None:
    raise RuntimeError("a bug in a route")


async def test_an_unhandled_exception_is_a_logged_localized_500_page(
    app: Any, as_role: Any, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.add_api_route("/support/boom", _boom, dependencies=[Depends(prepare_page)])
    app.add_api_route("/api/v1/boom", _boom)
    app.add_api_route("/boom-early", _boom)  # no page dependency: the user is looked up
    c = await _russian(as_role, "employee")
    for path in ("/support/boom", "/boom-early"):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="devops_center.web"):
            response = await c.get(path)
        assert response.status_code == 500, path
        assert "Что-то пошло не так" in response.text, path
        assert NAV_SIGNED_IN in response.text, path
        assert "RuntimeError" not in response.text and "Traceback" not in response.text
        assert "content-security-policy" in response.headers
        reference = re.search(r"Код для администратора: ([0-9a-f]{8})", response.text)
        assert reference, response.text
        logged = [r for r in caplog.records if reference.group(1) in r.getMessage()]
        assert logged and logged[0].exc_info and "a bug in a route" in str(logged[0].exc_info[1])
        # The session survives the error: the user is still signed in.
        assert (await c.get("/support")).status_code == 200

    english = await client.get("/boom-early", headers={"accept-language": "en"})
    assert english.status_code == 500 and "Something went wrong" in english.text
    assert NAV_SIGNED_IN not in english.text

    api = await client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["status"] == 500 and len(api.json()["reference"]) == 8
    assert "could not finish" in api.json()["detail"]


async def test_a_unique_violation_is_a_409_not_database_down(
    app: Any, as_role: Any, people: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    async def duplicate(session: SessionDep) -> None:
        session.add(User(name="Twin", email=people["manager"].email, role="employee"))
        await session.flush()

    app.add_api_route("/support/duplicate", duplicate, dependencies=[Depends(prepare_page)])
    c = await _russian(as_role, "employee")
    with caplog.at_level(logging.WARNING, logger="devops_center.web"):
        response = await c.get("/support/duplicate")
    assert response.status_code == 409
    assert "не отвечает" not in response.text and "retry-after" not in response.headers
    assert "Запрос отклонён" in response.text and NAV_SIGNED_IN in response.text
    assert any("conflict" in r.getMessage() for r in caplog.records)
    assert (await c.get("/support")).status_code == 200


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_data_error_is_a_422_not_database_down(app: Any, client: httpx.AsyncClient) -> None:
    """SQLite stores what PostgreSQL refuses; the refusals (NUL in text, a bad number)."""

    async def refused(session: SessionDep, what: str) -> None:
        if what == "nul":
            await session.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
        else:
            await session.execute(text("SELECT CAST(:v AS integer)"), {"v": "not a number"})

    app.add_api_route("/api/v1/refused", refused)
    for what in ("nul", "number"):
        response = await client.get("/api/v1/refused", params={"what": what})
        assert response.status_code == 422, (what, response.text)
        assert "cannot store" in response.json()["detail"]
