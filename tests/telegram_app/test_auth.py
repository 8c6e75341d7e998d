"""POST /tg/auth: Telegram's initData signs a browser in (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from devops_center.config import Settings
from devops_center.users.models import TelegramInitDataUse, User, UserSession
from tests.conftest import make_settings
from tests.telegram_app.initdata import BOT_TOKEN, make_init_data

CSRF_META = 'name="csrf-token" content="'


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        db_url,
        tmp_path,
        telegram_bot_token=BOT_TOKEN,
        telegram_initdata_max_age=600,
        superadmin_telegram_ids="777",
    )


async def _open_app(client: httpx.AsyncClient) -> str:
    page = await client.get("/tg/app")
    assert page.status_code == 200
    assert 'class="tg"' in page.text and "/static/js/tg.js" in page.text
    start = page.text.index(CSRF_META) + len(CSRF_META)
    return page.text[start : page.text.index('"', start)]


async def _auth(client: httpx.AsyncClient, init_data: str) -> httpx.Response:
    token = await _open_app(client)
    return await client.post(
        "/tg/auth", json={"init_data": init_data}, headers={"x-csrftoken": token}
    )


async def test_a_known_telegram_user_is_signed_in(
    make_client: Any, sessionmaker: Any, people: dict[str, User]
) -> None:
    async with sessionmaker() as s, s.begin():
        owner = await s.get(User, people["owner"].id)
        owner.telegram_id = 279058397
    browser = make_client()
    answer = await _auth(browser, make_init_data())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "name": "Test owner", "next": "/support"}
    assert "dcc_session=" in answer.headers["set-cookie"]
    hub = await browser.get("/support")
    assert hub.status_code == 200 and "Hello, Test owner!" in hub.text
    assert 'class="tg-tabs"' in hub.text  # the Mini App's tab bar, not the site's menu
    admin_page = await browser.get("/admin/bugs")
    assert admin_page.status_code == 200  # the account's own role, no password asked
    async with sessionmaker() as s:
        user = await s.get(User, people["owner"].id)
        assert user.last_login_at is not None
        assert (await s.execute(select(UserSession))).scalars().one().user_id == user.id


async def test_an_unknown_telegram_user_gets_an_employee_account(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    raw = make_init_data(
        user={"id": 5550001, "first_name": "Ольга", "username": "olga", "language_code": "ru"}
    )
    answer = await _auth(client, raw)
    assert answer.status_code == 200, answer.text
    async with sessionmaker() as s:
        user = (await s.execute(select(User).where(User.telegram_id == 5550001))).scalar_one()
    assert (user.name, user.role, user.language, user.telegram_username) == (
        "Ольга",
        "employee",
        "ru",
        "olga",
    )
    hub = await client.get("/support/my-bugs")
    assert hub.status_code == 200


async def test_a_configured_superadmin_id_becomes_superadmin(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    answer = await _auth(client, make_init_data(user={"id": 777, "first_name": "Root"}))
    assert answer.status_code == 200
    async with sessionmaker() as s:
        user = (await s.execute(select(User).where(User.telegram_id == 777))).scalar_one()
    assert user.role == "superadmin"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (make_init_data(bot_token="1:other"), "did not come from Telegram"),
        (make_init_data(auth_date=int(time.time()) - 601), "has expired"),
        ("user=1&hash=00", "did not come from Telegram"),
    ],
)
async def test_bad_init_data_is_401_with_a_message(
    client: httpx.AsyncClient, sessionmaker: Any, raw: str, message: str
) -> None:
    answer = await _auth(client, raw)
    assert answer.status_code == 401
    assert message in answer.json()["detail"]
    assert "dcc_session=" not in answer.headers.get("set-cookie", "")
    assert (await client.get("/support")).status_code == 303  # still signed out
    async with sessionmaker() as s:
        assert (await s.execute(select(User))).scalars().all() == []


async def test_the_message_is_in_russian_for_a_russian_browser(client: httpx.AsyncClient) -> None:
    token = await _open_app(client)
    answer = await client.post(
        "/tg/auth",
        json={"init_data": make_init_data(bot_token="1:other")},
        headers={"x-csrftoken": token, "accept-language": "ru"},
    )
    assert answer.status_code == 401
    assert "Telegram" in answer.json()["detail"] and "не" in answer.json()["detail"]


async def test_a_replayed_init_data_signs_no_one_in(make_client: Any, sessionmaker: Any) -> None:
    raw = make_init_data()
    first = make_client()
    assert (await _auth(first, raw)).status_code == 200
    # the same browser reloading the Mini App: still signed in, nothing new
    again = await _auth(first, raw)
    assert again.status_code == 200
    # another browser with a copy of that initData: refused
    thief = make_client("10.0.0.9")
    stolen = await _auth(thief, raw)
    assert stolen.status_code == 401 and "used already" in stolen.json()["detail"]
    async with sessionmaker() as s:
        assert len((await s.execute(select(UserSession))).scalars().all()) == 1
        used = (await s.execute(select(TelegramInitDataUse))).scalars().one()
        assert used.telegram_id == 279058397


async def test_a_disabled_account_is_refused(
    client: httpx.AsyncClient, sessionmaker: Any, people: dict[str, User]
) -> None:
    async with sessionmaker() as s, s.begin():
        user = await s.get(User, people["employee"].id)
        user.telegram_id = 279058397
        user.is_active = False
    answer = await _auth(client, make_init_data())
    assert answer.status_code == 401 and "disabled" in answer.json()["detail"]


async def test_without_a_csrf_header_the_post_is_refused(client: httpx.AsyncClient) -> None:
    await _open_app(client)
    answer = await client.post("/tg/auth", json={"init_data": make_init_data()})
    assert answer.status_code == 403


async def test_opening_the_page_outside_telegram_keeps_the_sites_menu(
    as_role: Any,
) -> None:
    owner = await as_role("owner")
    page = await owner.get("/tg/app")
    assert 'class="tg"' in page.text and "dcc_tg" not in page.headers.get("set-cookie", "")
    hub = await owner.get("/support")
    assert 'class="tg-tabs"' not in hub.text and 'href="/admin/users"' in hub.text
