"""What a pull request says about itself, as pure functions: its change type (Conventional
Commits prefix, else labels), priority (labels), the summary of its body, its component,
and the impact score (docs/architecture.md, "Impact score")."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHANGE_TYPES = (
    "feature",
    "fix",
    "perf",
    "refactor",
    "docs",
    "test",
    "build",
    "ci",
    "chore",
    "style",
    "revert",
    "security",
    "other",
)
USER_VISIBLE = ("feature", "fix")  # what "What's new" on /support lists

# Conventional Commits: "feat(api)!: …", "fix: …"
_PREFIX = re.compile(r"^\s*([a-zA-Z]+)(?:\([^)]*\))?!?\s*:\s*")
_PREFIXES = {
    "feat": "feature",
    "feature": "feature",
    "fix": "fix",
    "bugfix": "fix",
    "hotfix": "fix",
    "perf": "perf",
    "refactor": "refactor",
    "docs": "docs",
    "doc": "docs",
    "test": "test",
    "tests": "test",
    "build": "build",
    "ci": "ci",
    "chore": "chore",
    "deps": "chore",
    "style": "style",
    "revert": "revert",
    "security": "security",
    "sec": "security",
}
_LABELS = {
    "bug": "fix",
    "fix": "fix",
    "bugfix": "fix",
    "enhancement": "feature",
    "feature": "feature",
    "feat": "feature",
    "documentation": "docs",
    "docs": "docs",
    "performance": "perf",
    "perf": "perf",
    "refactor": "refactor",
    "refactoring": "refactor",
    "chore": "chore",
    "dependencies": "chore",
    "test": "test",
    "tests": "test",
    "ci": "ci",
    "security": "security",
}
_PRIORITY_WORDS = {
    "critical": "critical",
    "blocker": "critical",
    "urgent": "critical",
    "p0": "critical",
    "high": "high",
    "p1": "high",
    "medium": "medium",
    "normal": "medium",
    "p2": "medium",
    "low": "low",
    "minor": "low",
    "p3": "low",
}
_PRIORITY_ORDER = ("critical", "high", "medium", "low")
SUMMARY_MAX = 300
_CLOSING_LINE = re.compile(
    r"^\s*(close[sd]?|fix(e[sd])?|resolve[sd]?)\b[\s:]*(\S*#\d+|https?://\S+)", re.IGNORECASE
)


def _label_key(label: str) -> str:
    return re.sub(r"^(type|kind|priority|prio)\s*[:/]\s*", "", label.strip().lower())


def change_type(title: str, labels: Sequence[str]) -> str:
    """``feat: …`` → feature; else the first label that names a type; else other."""
    match = _PREFIX.match(title or "")
    if match and match.group(1).lower() in _PREFIXES:
        return _PREFIXES[match.group(1).lower()]
    for label in labels:
        found = _LABELS.get(_label_key(label))
        if found:
            return found
    return "other"


def strip_prefix(title: str) -> str:
    """The title without its Conventional Commits prefix ("fix(api): x" → "x")."""
    match = _PREFIX.match(title or "")
    if match and match.group(1).lower() in _PREFIXES:
        rest = title[match.end() :].strip()
        return rest[:1].upper() + rest[1:] if rest else title.strip()
    return (title or "").strip()


def priority_from_labels(labels: Sequence[str]) -> str | None:
    """The highest priority a label names ("priority: high", "P1", "critical")."""
    found = [_PRIORITY_WORDS[k] for k in (_label_key(x) for x in labels) if k in _PRIORITY_WORDS]
    return min(found, key=_PRIORITY_ORDER.index) if found else None


def summary(body: str | None) -> str:
    """The body's first paragraph of prose: without headings, checklists, HTML comments,
    the closing lines ("Fixes #12") and markdown emphasis; at most 300 characters."""
    text = re.sub(r"<!--.*?-->", "", body or "", flags=re.DOTALL)
    paragraphs = re.split(r"\n\s*\n", text)
    for paragraph in paragraphs:
        lines = []
        for line in paragraph.splitlines():
            stripped = line.strip()
            if (
                not stripped
                or stripped.startswith(("#", "- [", "* [", "```", "|", ">"))
                or _CLOSING_LINE.match(stripped)
            ):
                continue
            lines.append(stripped.lstrip("-* ").strip())
        prose = " ".join(x for x in lines if x)
        prose = re.sub(r"[*_`]+", "", prose).strip()
        if prose:
            if len(prose) > SUMMARY_MAX:
                prose = prose[: SUMMARY_MAX - 1].rsplit(" ", 1)[0] + "…"
            return prose
    return ""


def description(title: str, body: str | None) -> str:
    """The entry's description: the title, and the body's summary on the next line."""
    text = (title or "").strip()
    extra = summary(body)
    return f"{text}\n{extra}" if extra else text


def fallback_component(paths: Iterable[str]) -> str | None:
    """Without a scan: the most frequent first directory under ``src/`` (or, outside
    ``src/``, the first directory of the path)."""
    counts: Counter[str] = Counter()
    for path in paths:
        parts = path.split("/")
        if parts[0] == "src":
            parts = parts[1:]
        if len(parts) > 1 and parts[0]:
            counts[parts[0]] += 1
    if not counts:
        return None
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0][:100]


@dataclass(frozen=True)
class Touched:
    """A changed module of the scan: its centrality, size and the lines changed in it."""

    name: str
    package: str
    centrality: float
    loc: int
    changed: int


def component(touched: Sequence[Touched], root: str | None) -> str | None:
    """The package most of the changed modules belong to (ties: more changed lines, then
    the name), without the scan's one top-level package ("devops_center.support" →
    "support")."""
    if not touched:
        return None
    files: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    for t in touched:
        package = t.package or t.name
        files[package] += 1
        lines[package] += t.changed
    best = sorted(files, key=lambda p: (-files[p], -lines[p], p))[0]
    if root and best.startswith(root + "."):
        best = best[len(root) + 1 :]
    return best[:100]


def module_weight(changed: int, loc: int) -> float:
    """How much of a module changed, in [0, 1]: ln(1 + changed) / ln(1 + max(loc, changed)).
    Logarithmic, so a one-line fix of a 300-line module still counts (0.12), thirty
    lines count 0.60 and rewriting it all counts 1."""
    if changed <= 0:
        return 0.0
    return math.log1p(changed) / math.log1p(max(loc, changed))


def impact(touched: Sequence[Touched]) -> float:
    """impact = 1 − Π (1 − centrality_m × weight_m) over the changed modules m: one
    thoroughly changed central module scores its centrality, several changes add up
    without ever passing 1, modules outside the scan (docs, tests of another tree) add
    nothing. Rounded to three places."""
    remaining = 1.0
    for t in touched:
        remaining *= 1.0 - max(0.0, min(1.0, t.centrality)) * module_weight(t.changed, t.loc)
    return round(min(1.0, max(0.0, 1.0 - remaining)), 3)
