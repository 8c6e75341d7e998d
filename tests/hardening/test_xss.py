"""Stored XSS: the classic payloads in every field a user can fill and another user sees.

Bug fields (reporter and admins see them), FAQ entries (everyone sees them), display names
(admins see them beside bugs). The raw payload must never appear in a page; its escaped
form must (so the test really looked at the right page).
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from sqlalchemy import select, update

from devops_center.support.models import BugLog, FaqEntry
from devops_center.users.models import User
from tests.conftest import post_form

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "<svg/onload=alert(3)>",
    "javascript:alert(4)//<a href='javascript:alert(5)'>x</a>",
    "{{7*7}}<iframe src=//evil.example>",
]
PAYLOAD = " ".join(PAYLOADS)


def _assert_escaped(page: httpx.Response, where: str) -> None:
    assert page.status_code == 200, (where, page.status_code)
    text = page.text
    for raw in ("<script>alert(1)", "<img src=x onerror", "<svg/onload", "<iframe src=//evil"):
        assert raw not in text, f"unescaped {raw!r} on {where}"
    assert not re.search(r"href=['\"]?javascript:", text, re.I), f"javascript: link on {where}"
    assert (
        html.escape("<script>alert(1)</script>", quote=False) in text.replace("&#x27;", "'")
        or "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    ), f"payload not shown on {where}"


async def test_bug_fields_and_names_are_escaped(
    as_role: Any, people: dict[str, User], sessionmaker: Any
) -> None:
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(User).where(User.id == people["employee"].id).values(name=PAYLOAD[:100])
        )
    employee = await as_role("employee")
    response = await post_form(
        employee,
        "/support/bug",
        {
            "title": PAYLOAD[:200],
            "what_doing": PAYLOAD,
            "expected": PAYLOAD,
            "actual": PAYLOAD,
            "priority": "high",
        },
    )
    assert response.status_code == 303, response.text[:500]
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
    assert bug.title == PAYLOAD[:200]  # stored as typed, escaped only when shown

    owner = await as_role("owner")
    for client, path in (
        (employee, f"/support/bugs/{bug.id}"),
        (employee, "/support/my-bugs"),
        (employee, "/support"),
        (owner, "/admin/bugs"),
        (owner, f"/admin/bugs/{bug.id}"),
    ):
        _assert_escaped(await client.get(path), path)


async def test_faq_entries_are_escaped(as_role: Any, sessionmaker: Any) -> None:
    owner = await as_role("owner")
    response = await post_form(
        owner,
        "/admin/faq/new",
        {
            "category": PAYLOAD[:100],
            "question": "Password reset " + PAYLOAD,
            "answer": PAYLOAD,
            "language": "en",
            "order_index": "1",
        },
    )
    assert response.status_code in (200, 303), response.text[:500]
    async with sessionmaker() as s:
        entry = (await s.execute(select(FaqEntry))).scalar_one()
    employee = await as_role("employee")
    for client, path in (
        (employee, "/support/faq"),
        (employee, "/support/faq?q=password"),
        (employee, f"/support/faq/{entry.id}"),
        (owner, "/admin/faq"),
        (owner, f"/admin/faq/{entry.id}"),
    ):
        _assert_escaped(await client.get(path), path)
