"""Every page in Russian: a Russian-speaking owner walks every page (and the pages they
link to) with demo data present; no known English enum word is shown in a badge, a
table cell or a list, and no English interface text (a marked msgid with a different
Russian translation) is left visible.

User data (commit messages, service names, bug titles typed in English) is allowed:
only our own words are checked.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from devops_center.cli import demo_data
from devops_center.db import utcnow
from tests.conftest import login
from tests.test_i18n import _extracted, _russian
from tests.web import crawl
from tests.web.test_links import _shape
from tests.web.test_role_matrix import _get_routes

# Values of the enums we store: status, severity, priority, kind, source, job status.
ENUM_WORDS = {
    "open", "in_progress", "in progress", "resolved", "closed", "critical", "high",
    "medium", "low", "manual", "deployment", "check", "bug", "normal", "rollback",
    "hotfix", "success", "failed", "rolled_back", "rolled back", "pending", "running",
    "done", "parked", "workflow_run", "deployment_status", "demo", "up", "down",
}  # fmt: skip
PRODUCT = "DevOps Command Center"
PER_SHAPE = 3  # the 60 bug pages are drawn by one template
SKIP = ("/logout", "/api/", "/static/", "/metrics", "/healthz", "/readyz", "/tg/")


class _Text(HTMLParser):
    """Visible text, and the text of every badge, table cell and list item on its own."""

    HIDDEN = ("script", "style", "code", "pre", "textarea", "option")
    CELLS = ("td", "li", "dd", "span")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.parts: list[str] = []
        self.cells: list[str] = []
        self.open: list[tuple[str, list[str] | None]] = []  # (tag, its text if checked)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.CELLS:
            classes = a.get("class", "").split()
            # a GitHub label is the repository's own word, not ours
            checked = tag != "span" or ("badge" in classes and "gh-label" not in classes)
            self.open.append((tag, [] if checked else None))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in self.CELLS:
            while self.open:
                name, text = self.open.pop()
                if text is not None:
                    self.cells.append("".join(text))
                if name == tag:
                    break

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.parts.append(data)
        for _name, text in self.open:
            if text is not None:
                text.append(data)


def _visible(html: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(html)
    text = re.sub(r"\s+", " ", " ".join(parser.parts))
    cells = [re.sub(r"\s+", " ", c).strip() for c in parser.cells]
    return text, cells


def _english_interface() -> list[str]:
    """Msgids of two words or more whose Russian differs (a one-word msgid such as 'Email'
    or a service name can be user data)."""
    ru = _russian()
    out = []
    for msgid in _extracted():
        plain = re.sub(r"%\([a-z_]+\)[sd]|<[^>]+>|&[a-z]+;", "\x00", msgid)
        if "\x00" in plain or len(plain.split()) < 2 or ru.get(msgid, msgid) == msgid:
            continue
        if plain == PRODUCT:  # the product's name in the footer, a name like 'GitHub'
            continue
        out.append(plain)
    return out


@pytest.fixture
async def owner(sessionmaker: Any, make_client: Any) -> httpx.AsyncClient:
    async with sessionmaker() as s, s.begin():
        await demo_data.populate(s, now=utcnow())
    email, password = next((e, p) for r, e, p, _n, lang in demo_data.DEMO_USERS if r == "owner")
    c: httpx.AsyncClient = make_client()
    assert (await login(c, email, password)).status_code == 303
    return c


async def test_every_page_in_russian_shows_no_english_word_of_ours(
    app: Any, owner: httpx.AsyncClient
) -> None:
    english = _english_interface()
    assert len(english) > 100
    top = sorted(
        p for p in _get_routes(app) if "{" not in p and not p.startswith(SKIP) and p != "/"
    )
    seen: set[str] = set()
    shapes: Counter[str] = Counter()
    problems: list[str] = []
    level = top
    for depth in range(2):
        following: list[str] = []
        for path in level:
            if path in seen or path.startswith(SKIP) or shapes[_shape(path)] >= PER_SHAPE:
                continue
            seen.add(path)
            shapes[_shape(path)] += 1
            response = await owner.get(path, follow_redirects=True)
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            if "<html" in response.text:  # htmx fragments have no <html>
                assert '<html lang="ru"' in response.text, path
            text, cells = _visible(response.text)
            for cell in cells:
                if cell.lower() in ENUM_WORDS:
                    problems.append(f"the enum word {cell!r} on {_shape(path)}")
            for msgid in english:
                if msgid in text:
                    problems.append(f"the English text {msgid!r} on {_shape(path)}")
            if depth == 0:
                page = crawl.parse(str(response.url), response.text)
                following += [t for t in crawl.targets(page) if t not in seen]
        level = sorted(set(following))
    assert len(seen) > 25
    assert not problems, "\n".join(sorted(set(problems)))
