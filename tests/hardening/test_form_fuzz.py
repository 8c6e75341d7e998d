"""Hypothesis against every form and query string of every page, over real HTTP.

Signed in as an owner and as an employee, with demo data present, the pages are read
for their forms (POST, urlencoded or multipart, with a valid CSRF token) and their GET
parameters (GET forms and links). Each field gets hostile values: NUL, lone surrogates
(sent as the bytes a client would send), huge strings, numbers out of range, schemes,
markup, right-to-left marks, text of any kind. Never a 5xx, on SQLite and PostgreSQL.
``make fuzz`` (``DCC_FUZZ_LONG=1``) runs ten times more examples.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from devops_center.cli import demo_data
from devops_center.db import utcnow
from tests.web import crawl
from tests.web.test_role_matrix import _get_routes

pytestmark = pytest.mark.fuzz

LONG = os.environ.get("DCC_FUZZ_LONG") == "1"
EXAMPLES = 120 if LONG else 8
# Signing out, and ending sessions (the first listed is this one): no fields to fuzz, and
# the fuzzing client would be signed out for the rest of the run.
NEVER_POST = ("/logout", "/account/sessions/")
URL_VALUE_MAX = 1_500  # signs the fuzzing client out; nothing to find there

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b",
            "%00",
            "\ud800",
            "tail \udfff",
            "x" * 100_000,
            "я" * (1_100_000 if LONG else 30_000),  # long: over the 1 MB multipart field limit
            "9" * 40,
            "-1",
            "1e309",
            "2026-13-45T25:61",
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\u202eRTL",
            "\ufeffBOM",
            "Привет, мир",
        ]
    ),
    st.text(max_size=60),
    st.text(st.characters(categories=["Cs", "Cc", "Zl", "Co"]), max_size=8),
)


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")  # a surrogate as a client sends it


def _urlencoded(fields: dict[str, str]) -> bytes:
    return "&".join(
        f"{quote_plus(_bytes(k))}={quote_plus(_bytes(v))}" for k, v in fields.items()
    ).encode()


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(12)
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), _bytes(name).replace(b'"', b"%22"), _bytes(value))
        for name, value in fields.items()
    ]
    body = b"".join(parts) + b"--%s--\r\n" % boundary.encode()
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass
class Target:
    method: str
    path: str
    enctype: str
    fields: list[str]
    fixed: dict[str, str]  # the CSRF token


def _sign_in(c: httpx.Client, email: str, password: str) -> None:
    page = crawl.parse(str(c.base_url) + "/login", c.get("/login").text)
    token = page.forms[-1].defaults()["csrftoken"]
    response = c.post(
        "/login", data={"csrftoken": token, "email": email, "password": password, "next": "/"}
    )
    assert response.status_code == 303, response.text


def _discover(c: httpx.Client, top: list[str]) -> list[Target]:
    """Read every top page and the pages they link to; one target per form or GET shape."""
    base = str(c.base_url)
    found: dict[tuple[str, str], Target] = {}
    queue, seen = list(top), set()
    for depth in (0, 1):
        following = []
        for path in queue:
            if path in seen:
                continue
            seen.add(path)
            response = c.get(path)
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            page = crawl.parse(base + path, response.text)
            if depth == 0:
                following += [t for t in crawl.targets(page) if not t.startswith("/static/")]
            for form in page.forms:
                action = crawl.internal(base + path, form.action)
                if form.method != "post" or not action or action.startswith(NEVER_POST):
                    continue
                names = [n for n in form.fields if n != "csrftoken"]
                shape = re.sub(r"\d+", "N", action)
                found.setdefault(
                    ("POST", shape),
                    Target(
                        "POST",
                        action,
                        form.enctype,
                        names,
                        {"csrftoken": form.defaults().get("csrftoken", "")},
                    ),
                )
            for link in crawl.targets(page):
                parts = urlsplit(link)
                names = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
                shape = re.sub(r"\d+", "N", parts.path)
                if not parts.path.startswith("/static/"):
                    known = found.setdefault(("GET", shape), Target("GET", parts.path, "", [], {}))
                    known.fields = sorted({*known.fields, *names, "q", "page"})
        queue = following
    return list(found.values())


def _send(c: httpx.Client, target: Target, values: dict[str, str]) -> httpx.Response:
    if target.method == "GET":  # an address is at most a few KB (httpx: 64 KB)
        short = {k: v[:URL_VALUE_MAX] for k, v in values.items()}
        return c.get(target.path + "?" + _urlencoded(short).decode())
    fields = {**target.fixed, **values}
    if target.enctype.startswith("multipart"):
        body, content_type = _multipart(fields)
    else:
        body, content_type = _urlencoded(fields), "application/x-www-form-urlencoded"
    return c.post(target.path, content=body, headers={"content-type": content_type})


def _fuzz_target(c: httpx.Client, target: Target, failures: list[str]) -> int:
    sent = 0

    @seed(20261204)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(values=st.fixed_dictionaries(dict.fromkeys(target.fields, HOSTILE)))
    def run(values: dict[str, str]) -> None:
        nonlocal sent
        sent += 1
        response = _send(c, target, values)
        if response.status_code >= 500:
            shown = {k: v[:40] for k, v in values.items()}
            failures.append(
                f"{target.method} {target.path} {shown!r} → {response.status_code}: "
                f"{response.text[:200]}"
            )

    run()
    return sent


def _fuzz(base_url: str, email: str, password: str, top: list[str]) -> tuple[int, int, list[str]]:
    failures: list[str] = []
    with httpx.Client(base_url=base_url, timeout=60) as c:
        _sign_in(c, email, password)
        targets = _discover(c, top)
        assert sum(t.method == "POST" for t in targets) >= 3, targets
        sent = sum(_fuzz_target(c, target, failures) for target in targets)
    return sent, len(targets), failures


async def test_every_form_and_query_string_survives_hostile_text(
    live_server: Any, app: Any, sessionmaker: Any, db_url: str
) -> None:
    async with sessionmaker() as s, s.begin():
        await demo_data.populate(s, now=utcnow())
    top = sorted(p for p in _get_routes(app) if "{" not in p and p != "/metrics")
    users = {role: (email, pw) for role, email, pw, _n, _l in demo_data.DEMO_USERS}
    total = 0
    # The employee goes first: the owner's fuzzing reaches /admin/users, whose forms may
    # deactivate the employee or change its role (that is what those forms are for).
    for role in ("employee", "owner"):
        sent, targets, failures = await asyncio.to_thread(_fuzz, live_server.url, *users[role], top)
        total += sent
        print(f"{role}: {sent} requests over {targets} forms and pages ({db_url.split(':')[0]})")
        assert not failures, f"as {role}:\n" + "\n".join(failures[:20])
    assert total >= 250
