"""A deployment's kind and source as people read them, in their language."""

from __future__ import annotations

from devops_center.i18n import gettext, lazy

KIND_LABELS = {
    "normal": lazy("Normal"),
    "rollback": lazy("Rollback"),
    "hotfix": lazy("Hotfix"),
}
SOURCE_LABELS = {
    "api": lazy("API"),
    "workflow_run": lazy("GitHub Actions"),
    "deployment_status": lazy("GitHub deployment"),
    "cli": lazy("Command line"),
    "demo": lazy("Demo data"),
}


def kind_label(kind: str, lang: str) -> str:
    return gettext(lang, KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def source_label(source: str, lang: str) -> str:
    return gettext(lang, SOURCE_LABELS[source]) if source in SOURCE_LABELS else source
