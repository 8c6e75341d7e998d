"""Names of change types and entry statuses, in the reader's language."""

from __future__ import annotations

from devops_center.i18n import gettext, lazy

TYPE_NAMES = {
    "feature": lazy("feature"),
    "fix": lazy("fix"),
    "perf": lazy("performance"),
    "refactor": lazy("refactoring"),
    "docs": lazy("documentation"),
    "test": lazy("tests"),
    "build": lazy("build"),
    "ci": lazy("CI"),
    "chore": lazy("chore"),
    "style": lazy("style"),
    "revert": lazy("revert"),
    "security": lazy("security"),
    "other": lazy("other"),
}
STATUS_NAMES = {"merged": lazy("merged"), "deployed": lazy("in production")}


def type_names(lang: str) -> dict[str, str]:
    return {k: gettext(lang, v) for k, v in TYPE_NAMES.items()}


def status_names(lang: str) -> dict[str, str]:
    return {k: gettext(lang, v) for k, v in STATUS_NAMES.items()}
