"""Every route, as anonymous and as every role: the expected status, from one table.

When a feature adds a route, it adds a row here. ``ANON`` is the anonymous status.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# (method, path, anonymous, employee, manager, owner, superadmin)
MATRIX: list[tuple[str, str, int, int, int, int, int]] = [
    ("GET", "/healthz", 200, 200, 200, 200, 200),
    ("GET", "/readyz", 200, 200, 200, 200, 200),
    ("GET", "/", 303, 303, 303, 303, 303),
    ("GET", "/login", 200, 303, 303, 303, 303),
    ("GET", "/support", 303, 200, 200, 200, 200),
    ("GET", "/api/v1/whoami", 401, 403, 403, 200, 200),
    ("GET", "/api/openapi.json", 200, 200, 200, 200, 200),
    ("GET", "/static/css/app.css", 200, 200, 200, 200, 200),
    ("GET", "/support/bug", 303, 200, 200, 200, 200),
    ("GET", "/support/faq", 303, 200, 200, 200, 200),
    ("GET", "/support/my-bugs", 303, 200, 200, 200, 200),
    ("GET", "/admin/bugs", 303, 403, 403, 200, 200),
    ("GET", "/admin/faq", 303, 403, 403, 200, 200),
    ("GET", "/admin/faq/new", 303, 403, 403, 200, 200),
    ("GET", "/admin/github", 303, 403, 403, 200, 200),
    ("GET", "/admin/github/panel", 303, 403, 403, 200, 200),
    ("GET", "/api/v1/deployments", 401, 403, 403, 200, 200),
    ("GET", "/api/v1/metrics/dora", 401, 403, 403, 200, 200),
    ("GET", "/admin/devops", 303, 403, 403, 200, 200),
    ("GET", "/admin/deployments", 303, 403, 403, 200, 200),
    ("GET", "/admin/incidents", 303, 403, 403, 200, 200),
    ("GET", "/admin/status", 303, 403, 403, 200, 200),
    ("GET", "/admin/status/panel", 303, 403, 403, 200, 200),
    ("GET", "/metrics", 200, 200, 200, 200, 200),
    ("GET", "/api/v1/status", 401, 403, 403, 200, 200),
    ("GET", "/no-such-page", 404, 404, 404, 404, 404),
]

ROLES = ["anonymous", "employee", "manager", "owner", "superadmin"]


@pytest.fixture
async def clients(client: httpx.AsyncClient, as_role: Any) -> dict[str, httpx.AsyncClient]:
    out = {"anonymous": client}
    for role in ROLES[1:]:
        out[role] = await as_role(role)
    return out


async def test_role_matrix(clients: dict[str, httpx.AsyncClient]) -> None:
    problems = []
    for method, path, *expected in MATRIX:
        for role, status in zip(ROLES, expected, strict=True):
            response = await clients[role].request(method, path)
            if response.status_code != status:
                problems.append(f"{method} {path} as {role}: {response.status_code} != {status}")
    assert not problems, "\n".join(problems)


async def test_every_route_is_in_the_matrix(app: Any) -> None:
    """A new route without a row here fails: access must be decided on purpose."""
    from fastapi.routing import APIRoute

    listed = {(m, p) for m, p, *_ in MATRIX}
    missing = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in route.methods - {"HEAD"}:
                if method != "GET":
                    continue
                path = route.path
                if "{" in path:
                    continue  # parametrised routes have their own access tests
                if (method, path) not in listed and not path.startswith("/api/docs"):
                    missing.append(f"{method} {path}")
    assert not missing, "routes missing from MATRIX: " + ", ".join(missing)
