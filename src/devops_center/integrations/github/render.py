"""The text of a bug's GitHub issue: title, body with the hidden marker, labels.

Pure functions of plain values (no domain imports: integrations sit below the domains).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER_RE = re.compile(r"<!--\s*dcc-bug:(\d+)\s*-->")
TITLE_MAX = 256


@dataclass(frozen=True)
class BugView:
    id: int
    title: str
    what_doing: str
    expected: str
    actual: str
    priority: str
    reporter: str
    bug_url: str
    screenshot_url: str | None = None


def marker(bug_id: int) -> str:
    return f"<!-- dcc-bug:{bug_id} -->"


def bug_id_from_body(body: str | None) -> int | None:
    """The bug id of our hidden marker in an issue body, or None."""
    if not body:
        return None
    match = MARKER_RE.search(body)
    return int(match.group(1)) if match else None


def labels_for(priority: str) -> list[str]:
    return ["bug", f"priority:{priority}"]


def issue_title(bug: BugView) -> str:
    return f"[Bug #{bug.id}] {bug.title}"[:TITLE_MAX]


def _quote(text: str) -> str:
    """Markdown-safe block: the reporter's text, never interpreted as our marker."""
    text = MARKER_RE.sub("<!-- (removed) -->", text.strip())
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines()) or "> —"


def issue_body(bug: BugView) -> str:
    parts = [
        marker(bug.id),
        f"**Priority:** {bug.priority}  ",
        f"**Reported by:** {bug.reporter}  ",
        f"**Bug report:** {bug.bug_url}",
        "",
        "### What I was doing",
        _quote(bug.what_doing),
        "",
        "### What I expected",
        _quote(bug.expected),
        "",
        "### What happened",
        _quote(bug.actual),
    ]
    if bug.screenshot_url:
        parts += ["", f"**Screenshot:** {bug.screenshot_url}"]
    parts += ["", "_Filed by DevOps Command Center._"]
    return "\n".join(parts)
