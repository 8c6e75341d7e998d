"""Security headers on every page, no inline script anywhere, cookies as they should be.

The pages are the GET rows of the role matrix (every route is listed there, a test makes
sure of it), fetched as an owner (who sees the most) and anonymously.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.web.test_role_matrix import MATRIX

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=|<style[\s>]", re.I)


def _check_page(path: str, response: httpx.Response) -> list[str]:
    problems: list[str] = []
    csp = response.headers.get("content-security-policy", "")
    if "frame-ancestors 'none'" not in csp or "script-src 'self'" not in csp:
        problems.append(f"{path}: weak or missing CSP {csp!r}")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append(f"{path}: CSP allows inline code")
    if response.headers.get("x-content-type-options") != "nosniff":
        problems.append(f"{path}: no X-Content-Type-Options")
    if not response.headers.get("referrer-policy"):
        problems.append(f"{path}: no Referrer-Policy")
    if "text/html" in response.headers.get("content-type", ""):
        for pattern, what in (
            (INLINE_SCRIPT, "inline <script>"),
            (INLINE_HANDLER, "inline event handler"),
            (INLINE_STYLE, "inline style"),
        ):
            if match := pattern.search(response.text):
                problems.append(f"{path}: {what}: {match.group(0)[:80]}")
    return problems


async def test_every_page_has_the_security_headers(client: httpx.AsyncClient, as_role: Any) -> None:
    owner = await as_role("owner")
    problems: list[str] = []
    for method, path, *_ in MATRIX:
        if method != "GET":
            continue
        for who in (client, owner):
            response = await who.get(path)
            problems += _check_page(path, response)
    assert not problems, "\n".join(sorted(set(problems)))


async def test_session_cookie_flags(client: httpx.AsyncClient, people: dict[str, Any]) -> None:
    from tests.conftest import login

    response = await login(client, people["employee"].email)
    assert response.status_code == 303
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("dcc_session="))
    assert "httponly" in session.lower() and "samesite=lax" in session.lower()


async def test_secure_cookie_behind_https(
    settings: Any, engine: Any, sessionmaker: Any, people: dict[str, Any]
) -> None:
    from devops_center.web.app import create_app
    from tests.conftest import login

    app = create_app(
        settings.model_copy(update={"base_url": "https://dcc.example.com"}),
        engine=engine,
        sessionmaker=sessionmaker,
    )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        response = await login(c, people["employee"].email)
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("dcc_session="))
    assert "secure" in session.lower()
