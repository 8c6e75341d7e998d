"""Liveness, readiness (503 with the reason when the database is gone), security headers."""

from __future__ import annotations

from pathlib import Path

import httpx

from devops_center.web.app import create_app
from tests.conftest import make_settings


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "uploads": "ok"}


async def test_readyz_is_503_without_database(tmp_path: Path) -> None:
    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"]


async def test_html_pages_carry_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_pages_answer_503_with_a_page_while_the_database_is_away(tmp_path: Path) -> None:
    """PostgreSQL refusing connections (a restart): a clean 503 page, never a traceback."""
    from tests.conftest import csrf_token

    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        token = await csrf_token(c)
        response = await c.post(
            "/login", data={"csrftoken": token, "email": "a@b.cd", "password": "whatever"}
        )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "The database is not answering" in response.text
    assert "Traceback" not in response.text
