"""One search everywhere: the FAQ page, the API (and the bot, in tests/bot), both
languages; FAQ edits reach the brain through the worker; lexical mode is said so."""

from __future__ import annotations

import re
from typing import Any

from devops_center import worker
from devops_center.users.models import User
from devops_center.web.app import create_app
from tests.conftest import csrf_token, login, make_settings


async def _russian(make_client: Any, user: User) -> Any:
    c = make_client()
    await login(c, user.email or "")
    token = await csrf_token(c, "/support")
    await c.post("/language", data={"csrftoken": token, "language": "ru", "next": "/support"})
    return c


async def test_faq_page_finds_across_languages_and_keeps_the_query(
    as_role: Any, make_client: Any, people: dict[str, User], faq: dict[str, set[int]]
) -> None:
    en = await as_role("employee")
    page = await en.get("/support/faq", params={"q": "как установить мобильное приложение"})
    assert "How do I install the mobile app?" in page.text
    # the page lists only related entries: a word the FAQ never heard of finds nothing
    none = await en.get("/support/faq", params={"q": "kubernetes helm chart"})
    assert "Nothing found" in none.text

    ru = await _russian(make_client, people["manager"])
    found = await ru.get("/support/faq", params={"q": "I forgot my password"})
    assert "Забыли пароль" in found.text or "забыл" in found.text.lower()
    # the category filter keeps the query, and the query keeps the category
    page = await ru.get("/support/faq", params={"q": "деньги", "category": "Оплата"})
    links = re.findall(r'href="(/support/faq\?category=[^"]+)"', page.text)
    assert links and all("q=%D0%B4" in link for link in links)
    # the language switch comes back to the same search (also after an HTMX search)
    assert 'name="next" id="language-next" value="/support/faq?q=' in page.text
    htmx = await ru.get(
        "/support/faq", params={"q": "пароль", "category": ""}, headers={"HX-Request": "true"}
    )
    assert 'hx-swap-oob="true" value="/support/faq?q=%D0%BF' in htmx.text
    token = await csrf_token(ru, "/support/faq")
    back = await ru.post(
        "/language",
        data={"csrftoken": token, "language": "en", "next": "/support/faq?q=%D0%BF"},
    )
    assert back.headers["location"] == "/support/faq?q=%D0%BF"


async def test_api_search_and_crud_reach_the_brain(
    client: Any,
    make_token: Any,
    people: dict[str, User],
    settings: Any,
    sessionmaker: Any,
    faq: dict[str, set[int]],
) -> None:
    reader = await make_token("faq:read", user=people["employee"])
    r = await client.get(
        "/api/v1/faq/search", params={"q": "почему мне не засчитали часы"}, headers=reader
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "confident"} and body["confident"] is True
    top = body["items"][0]
    assert set(top) == {"id", "question", "answer", "category", "score"}
    assert top["id"] in faq["hours_not_counted"] and 0 < top["score"] <= 1
    dog = await client.get(
        "/api/v1/faq/search", params={"q": "Can I bring my dog?"}, headers=reader
    )
    assert dog.json()["confident"] is False
    assert (await client.get("/api/v1/faq/search", params={"q": "x"})).status_code == 401
    no_scope = await make_token("bugs:read", user=people["employee"])
    assert (
        await client.get("/api/v1/faq/search", params={"q": "x"}, headers=no_scope)
    ).status_code == 403

    writer = await make_token("faq:read", "faq:write", user=people["owner"])
    new = {
        "language": "en",
        "category": "Facilities",
        "question": "Where can I park my bicycle?",
        "answer": "In the yard behind building B.",
    }
    created = await client.post("/api/v1/faq", json=new, headers=writer)
    assert created.status_code == 201
    assert await worker.drain(settings, sessionmaker, kinds=["brain.index"]) >= 1
    found = await client.get(
        "/api/v1/faq/search",
        params={"q": "где оставить велосипед", "language": "ru"},
        headers=reader,
    )
    assert found.json()["items"][0]["id"] == created.json()["id"]
    await client.delete(f"/api/v1/faq/{created.json()['id']}", headers=writer)
    await worker.drain(settings, sessionmaker, kinds=["brain.index"])
    gone = await client.get(
        "/api/v1/faq/search", params={"q": "где оставить велосипед"}, headers=reader
    )
    assert created.json()["id"] not in [i["id"] for i in gone.json()["items"]]


async def test_without_a_model_search_is_lexical_and_the_dashboard_says_so(
    db_url: str,
    tmp_path: Any,
    engine: Any,
    sessionmaker: Any,
    people: dict[str, User],
    faq: dict[str, set[int]],
) -> None:
    import httpx

    settings = make_settings(db_url, tmp_path, embedding_model="none")
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await login(c, people["owner"].email or "")
        admin = await c.get("/admin/faq")
        assert "Search is lexical only" in admin.text
        assert "DCC_EMBEDDING_MODEL=none" in admin.text
        typo = await c.get("/support/faq", params={"q": "forgot pasword"})
        assert "password" in typo.text.lower()  # typos and word forms still found
        cross = await c.get("/support/faq", params={"q": "мобильное приложение установить"})
        assert "How do I install the mobile app?" not in cross.text
