"""No link leads nowhere: every role (and an anonymous visitor), with demo data present
(bugs, FAQ, deployments, incidents, checks), follows every internal link — ``href``,
``src``, ``hx-get`` and GET forms — two levels deep from every top page: no 404, no 5xx.

Every link shape is followed (the path with its numbers as ``N``, and the names of its
query parameters), up to ``PER_SHAPE`` addresses each (the 60 bug pages are drawn by
one template); ``DCC_FUZZ_LONG=1`` follows every address.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from devops_center.cli import demo_data
from devops_center.db import utcnow
from tests.conftest import login
from tests.web import crawl
from tests.web.test_role_matrix import _get_routes

ROLES = ("anonymous", "employee", "manager", "owner", "superadmin")
DEPTH = 2
PER_SHAPE = 1_000_000 if os.environ.get("DCC_FUZZ_LONG") == "1" else 6


def _shape(path: str) -> str:
    parts = urlsplit(path)
    names = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(names)


@pytest.fixture
async def demo(sessionmaker: Any) -> dict[str, tuple[str, str]]:
    async with sessionmaker() as s, s.begin():
        await demo_data.populate(s, now=utcnow())
    return {role: (email, password) for role, email, password, _n, _l in demo_data.DEMO_USERS}


async def _crawl(c: httpx.AsyncClient, top: list[str]) -> tuple[int, list[str], int]:
    seen: set[str] = set()
    shapes: Counter[str] = Counter()
    problems: list[str] = []
    level = [(path, "top") for path in top]
    for depth in range(DEPTH + 1):
        following: list[tuple[str, str]] = []
        for path, referrer in level:
            if path in seen or shapes[_shape(path)] >= PER_SHAPE:
                continue
            seen.add(path)
            shapes[_shape(path)] += 1
            response = await c.get(path, follow_redirects=True)
            if response.status_code == 404 or response.status_code >= 500:
                problems.append(f"{response.status_code} {path} (linked from {referrer})")
                continue
            if depth < DEPTH and response.headers.get("content-type", "").startswith("text/html"):
                page = crawl.parse(str(response.url), response.text)
                for link in page.links:
                    assert not link.strip().lower().startswith(("javascript:", "data:")), link
                following += [(t, path) for t in crawl.targets(page) if t not in seen]
        level = following
    return len(seen), problems, len(shapes)


async def test_every_internal_link_answers_for_every_role(
    app: Any, make_client: Any, demo: dict[str, tuple[str, str]]
) -> None:
    top = sorted(p for p in _get_routes(app) if "{" not in p and p != "/metrics")
    assert {"/support", "/admin/devops", "/admin/bugs"} <= set(top)
    report = []
    for role in ROLES:
        c: httpx.AsyncClient = make_client()
        if role != "anonymous":
            email, password = demo[role]
            assert (await login(c, email, password)).status_code == 303
        visited, problems, shapes = await _crawl(c, top)
        report.append(f"{role}: {visited} addresses of {shapes} shapes")
        assert visited > len(top)
        assert not problems, f"as {role}:\n" + "\n".join(problems)
    print("; ".join(report))
