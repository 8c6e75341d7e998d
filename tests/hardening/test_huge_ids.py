"""Every route with a row id in its path answers 4xx, never 5xx, for ids no column can hold.

The API fuzzer found `GET /api/v1/changelog/932038600903021159251968` answering 500 (the
id overflows SQLite's INTEGER and PostgreSQL's int4); the same holds for any page route
with an unbounded `int` path parameter. This walks every route of the app, so a route
added tomorrow without the bounded `RowId` type fails here.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from devops_center.users import tokens as api_tokens
from tests.conftest import csrf_token

HUGE = "932038600903021159251968"
ID_PARAM = re.compile(r"\{(\w+_id)\}")


def _all_routes(app: Any) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, through FastAPI's included routers."""
    out = []
    for route in app.routes:
        if isinstance(route, Route):
            out.append((route.path, set(route.methods or ())))
        elif hasattr(route, "effective_route_contexts"):
            out += [(c.path, set(c.methods or ())) for c in route.effective_route_contexts()]
    return out


def _id_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for template, methods in _all_routes(app):
        if not ID_PARAM.search(template):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: HUGE if m.group(1).endswith("_id") else "x", template)
        for method in sorted(methods):
            if method != "HEAD":
                out.append((method, path))
    return out


@pytest.mark.parametrize("huge", [HUGE, "0", "-1"])
async def test_ids_out_of_range_are_a_client_error(
    app: Any, as_role: Any, sessionmaker: Any, huge: str
) -> None:
    routes = _id_routes(app)
    assert len(routes) >= 30, routes  # pages and API alike
    web: httpx.AsyncClient = await as_role("superadmin")
    token = await csrf_token(web, "/account")
    async with sessionmaker() as s, s.begin():
        _row, plaintext = await api_tokens.create_token(s, name="ids", scopes=["admin"])
    bearer = {"Authorization": f"Bearer {plaintext}"}
    failures = []
    for method, path in routes:
        path = path.replace(HUGE, huge)
        if path.startswith("/api/"):
            body = {"json": {}} if method in {"POST", "PATCH", "PUT"} else {}
            response = await web.request(method, path, headers=bearer, **body)
        elif method == "GET":
            response = await web.get(path)
        else:
            response = await web.request(method, path, data={"csrftoken": token})
        if response.status_code >= 500:
            failures.append(f"{method} {path} → {response.status_code}")
    assert not failures, failures
