"""What a pull request says about itself: type, priority, summary, component, impact."""

from __future__ import annotations

import math

import pytest

from devops_center.changelog import rules
from devops_center.changelog.rules import Touched


@pytest.mark.parametrize(
    ("title", "labels", "expected"),
    [
        ("feat(api): tokens", [], "feature"),
        ("fix!: crash on start", ["enhancement"], "fix"),  # the prefix wins
        ("perf: faster export", [], "perf"),
        ("Refactor: split service", [], "refactor"),
        ("docs: deploy guide", [], "docs"),
        ("chore(deps): bump httpx", [], "chore"),
        ("Night shifts missing", ["bug"], "fix"),
        ("Dark mode", ["type: feature"], "feature"),
        ("Update README", ["documentation"], "docs"),
        ("Something", [], "other"),
        ("unknownprefix: x", ["perf"], "perf"),
    ],
)
def test_change_type(title: str, labels: list[str], expected: str) -> None:
    assert rules.change_type(title, labels) == expected


def test_priority_and_prefix() -> None:
    assert rules.priority_from_labels(["bug", "priority: high", "P0"]) == "critical"
    assert rules.priority_from_labels(["prio/low"]) == "low"
    assert rules.priority_from_labels(["bug"]) is None
    assert rules.strip_prefix("fix(shifts): night shifts are back") == "Night shifts are back"
    assert rules.strip_prefix("Plain title") == "Plain title"


def test_summary_keeps_the_first_prose_paragraph() -> None:
    body = (
        "<!-- template -->\n## What\n\nFixes #12\nCloses acme/app#3\n\n"
        "The **night** shifts were `filtered` out\nby the list query.\n\n- [x] tests\n\nMore."
    )
    assert rules.summary(body) == "The night shifts were filtered out by the list query."
    assert rules.summary(None) == "" and rules.summary("Fixes #1") == ""
    long = rules.summary("word " * 200)
    assert len(long) <= rules.SUMMARY_MAX and long.endswith("…")
    assert rules.description("fix: x", "Fixes #2") == "fix: x"


def test_component() -> None:
    touched = [
        Touched("dcc.support.bugs", "dcc.support", 0.5, 100, 10),
        Touched("dcc.support.faq", "dcc.support", 0.1, 100, 1),
        Touched("dcc.web.app", "dcc.web", 0.9, 100, 500),
    ]
    assert rules.component(touched, "dcc") == "support"  # most files, not most lines
    assert rules.component(touched[2:], None) == "dcc.web"
    assert rules.component([], "dcc") is None
    assert rules.fallback_component(["src/web/a.py", "src/web/b.py", "docs/x.md"]) == "web"
    assert rules.fallback_component(["README.md"]) is None


def test_impact_formula() -> None:
    # one module, rewritten entirely: its centrality
    assert rules.impact([Touched("a", "", 0.8, 100, 100)]) == 0.8
    # a one-line change of a 300-line central module still counts
    one_line = rules.impact([Touched("a", "", 1.0, 300, 1)])
    assert one_line == round(math.log(2) / math.log(301), 3) and one_line > 0.1
    # two changes add up, never past 1; a leaf (centrality 0) adds nothing
    both = rules.impact([Touched("a", "", 0.8, 100, 100), Touched("b", "", 0.5, 10, 10)])
    assert both == round(1 - 0.2 * 0.5, 3) == 0.9
    assert rules.impact([Touched("leaf", "", 0.0, 10, 10)]) == 0.0
    assert rules.impact([]) == 0.0
    many = [Touched(f"m{i}", "", 1.0, 10, 10) for i in range(20)]
    assert rules.impact(many) == 1.0
