"""Every route, as anonymous and as every role: the expected status, from one table.

When a feature adds a route, it adds a row here. ``ANON`` is the anonymous status.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import csrf_token

# (method, path, anonymous, employee, manager, owner, superadmin)
# A manager (team lead) reads the dashboard, deployments, incidents, status and triage;
# settings, users, tokens, the FAQ admin, jobs, GitHub and the audit log are refused.
MATRIX: list[tuple[str, str, int, int, int, int, int]] = [
    ("GET", "/healthz", 200, 200, 200, 200, 200),
    ("GET", "/readyz", 200, 200, 200, 200, 200),
    ("GET", "/favicon.ico", 204, 204, 204, 204, 204),
    ("GET", "/", 303, 303, 303, 303, 303),
    ("GET", "/login", 200, 303, 303, 303, 303),
    ("GET", "/support", 303, 200, 200, 200, 200),
    ("GET", "/api/v1/whoami", 401, 403, 403, 200, 200),
    ("GET", "/api/openapi.json", 200, 200, 200, 200, 200),
    ("GET", "/api/docs", 200, 200, 200, 200, 200),
    ("GET", "/static/css/app.css", 200, 200, 200, 200, 200),
    ("GET", "/support/bug", 303, 200, 200, 200, 200),
    ("GET", "/support/bug/suggest", 303, 200, 200, 200, 200),
    ("GET", "/support/faq", 303, 200, 200, 200, 200),
    ("GET", "/support/my-bugs", 303, 200, 200, 200, 200),
    ("GET", "/account/sessions", 303, 200, 200, 200, 200),
    ("GET", "/admin/bugs", 303, 403, 200, 200, 200),
    ("GET", "/admin/faq", 303, 403, 403, 200, 200),
    ("GET", "/admin/faq/gaps", 303, 403, 403, 200, 200),
    ("GET", "/admin/faq/new", 303, 403, 403, 200, 200),
    ("GET", "/admin/github", 303, 403, 403, 200, 200),
    ("GET", "/admin/github/panel", 303, 403, 200, 200, 200),
    ("GET", "/admin/jobs", 303, 403, 403, 200, 200),
    ("GET", "/api/v1/deployments", 401, 403, 403, 200, 200),
    ("GET", "/api/v1/metrics/dora", 401, 403, 403, 200, 200),
    ("GET", "/admin/devops", 303, 403, 200, 200, 200),
    ("GET", "/admin/deployments", 303, 403, 200, 200, 200),
    ("GET", "/admin/incidents", 303, 403, 200, 200, 200),
    ("GET", "/admin/status", 303, 403, 200, 200, 200),
    ("GET", "/admin/status/panel", 303, 403, 200, 200, 200),
    ("GET", "/metrics", 200, 200, 200, 200, 200),
    ("GET", "/api/v1/status", 401, 403, 403, 200, 200),
    ("GET", "/admin/architecture", 303, 403, 403, 200, 200),
    ("GET", "/admin/architecture/module", 303, 403, 403, 303, 303),
    ("GET", "/api/v1/architecture", 401, 403, 403, 404, 404),
    ("GET", "/api/v1/architecture/scans", 401, 403, 403, 200, 200),
    ("GET", "/admin/changelog", 303, 403, 403, 200, 200),
    ("GET", "/api/v1/changelog", 401, 403, 403, 200, 200),
    ("GET", "/admin/tokens", 303, 403, 403, 200, 200),
    ("GET", "/admin/users", 303, 403, 403, 200, 200),
    ("GET", "/admin/audit", 303, 403, 403, 200, 200),
    # The Telegram Mini App's page: its script signs in with Telegram's data.
    ("GET", "/tg/app", 200, 200, 200, 200, 200),
    # The v1 API takes tokens, not sessions (tests/api has a test per scope).
    ("GET", "/api/v1/bugs", 401, 401, 401, 401, 401),
    ("GET", "/api/v1/faq", 401, 401, 401, 401, 401),
    ("GET", "/api/v1/faq/search", 401, 401, 401, 401, 401),
    ("GET", "/api/v1/incidents", 401, 401, 401, 401, 401),
    ("GET", "/api/v1/users", 401, 401, 401, 401, 401),
    ("GET", "/api/v1/audit", 401, 401, 401, 401, 401),
    ("GET", "/api/v1/invites", 401, 401, 401, 401, 401),
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


def _get_routes(app: Any) -> set[str]:
    """Every GET path of the app, included routers too.

    FastAPI 0.165 wraps included routers (``app.routes`` holds ``_IncludedRouter`` objects,
    not their ``APIRoute``s), so the routes are walked with ``iter_route_contexts`` where it
    exists, and the OpenAPI paths are added as a second source.
    """
    from fastapi.routing import APIRoute

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are flat in app.routes
        walked = [(r, r) for r in app.routes]
    else:
        walked = [(rc, rc.original_route) for rc in iter_route_contexts(app.routes)]
    paths = {
        str(ctx.path)
        for ctx, route in walked
        if isinstance(route, APIRoute) and "GET" in (ctx.methods or ())
    }
    paths |= {p for p, ops in app.openapi()["paths"].items() if "get" in ops}
    return paths


async def test_a_manager_reads_but_changes_nothing(
    clients: dict[str, httpx.AsyncClient], sessionmaker: Any, people: dict[str, Any]
) -> None:
    from devops_center.incidents import service as incidents
    from devops_center.support.models import BugLog

    async with sessionmaker() as s, s.begin():
        bug = BugLog(
            user_id=people["employee"].id, title="Cannot save", what_doing="Saving",
            expected="Saved", actual="Spinner forever",
        )  # fmt: skip
        s.add(bug)
        incident = await incidents.open_incident(
            s, source="manual", title="Payments slow", severity="high"
        )
    manager = clients["manager"]
    nav = (await manager.get("/admin/devops")).text
    assert 'href="/admin/bugs"' in nav and 'href="/admin/status"' in nav
    assert 'href="/admin/users"' not in nav and 'href="/admin/faq"' not in nav
    triage = (await manager.get(f"/admin/bugs/{bug.id}")).text
    assert "Spinner forever" in triage and 'action="/admin/bugs/' not in triage
    incidents_page = (await manager.get("/admin/incidents")).text
    assert "Payments slow" in incidents_page and "/resolve" not in incidents_page
    status_page = (await manager.get("/admin/status")).text
    assert 'action="/admin/status/maintenance"' not in status_page
    token = await csrf_token(manager, "/support/bug")
    for path, data in (
        (f"/admin/bugs/{bug.id}", {"status": "closed"}),
        (f"/admin/incidents/{incident.id}/resolve", {}),
        ("/admin/status/maintenance", {"starts_at": "2030-01-01T10:00"}),
        ("/admin/faq/new", {"question": "q"}),
    ):
        response = await manager.post(path, data={"csrftoken": token, **data})
        assert response.status_code == 403, (path, response.status_code)
    for path in ("/admin/users", "/admin/tokens", "/admin/faq", "/admin/audit", "/admin/jobs"):
        assert (await manager.get(path)).status_code == 403, path


async def test_every_route_is_in_the_matrix(app: Any) -> None:
    """A new route without a row here fails: access must be decided on purpose."""
    listed = {(m, p) for m, p, *_ in MATRIX}
    paths = _get_routes(app)
    assert {"/healthz", "/login", "/support", "/api/v1/whoami"} <= paths, "route walk broken"
    missing = sorted(
        f"GET {path}"
        for path in paths
        if "{" not in path  # parametrised routes have their own access tests
        and ("GET", path) not in listed
        and not path.startswith("/api/docs")
    )
    assert not missing, "routes missing from MATRIX: " + ", ".join(missing)
