"""How the audit log reads: an action in words and its details in one line."""

from __future__ import annotations

from typing import Any

from devops_center.i18n import gettext, lazy
from devops_center.users.auditlog import Entry

ACTIONS: dict[tuple[str, str], str] = {
    ("user", "create"): lazy("created the account"),
    ("user", "set_role"): lazy("changed the role"),
    ("user", "set_github_login"): lazy("linked the GitHub login"),
    ("user", "deactivate"): lazy("deactivated the account"),
    ("user", "activate"): lazy("reactivated the account"),
    ("invite", "create"): lazy("invited someone"),
    ("invite", "accept"): lazy("accepted an invitation"),
    ("invite", "revoke"): lazy("revoked an invitation"),
    ("token", "create"): lazy("created an API token"),
    ("token", "revoke"): lazy("revoked an API token"),
    ("bug", "update"): lazy("changed the bug"),
    ("bug", "add_information"): lazy("added information"),
    ("faq", "create"): lazy("added the entry"),
    ("faq", "update"): lazy("edited the entry"),
    ("faq", "delete"): lazy("deleted the entry"),
    ("faq", "move"): lazy("moved the entry"),
    ("changelog", "update"): lazy("wrote the user-facing line"),
}
ENTITIES: dict[str, str] = {
    "user": lazy("user"),
    "invite": lazy("invitation"),
    "token": lazy("API token"),
    "bug": lazy("bug"),
    "faq": lazy("FAQ entry"),
    "faq_category": lazy("FAQ category"),
    "changelog": lazy("changelog entry"),
}


def action(entry: Entry, lang: str) -> str:
    label = ACTIONS.get((entry.entity, entry.action))
    return gettext(lang, label) if label else entry.action.replace("_", " ")


def entity(entry: Entry, lang: str) -> str:
    name = ENTITIES.get(entry.entity)
    kind = gettext(lang, name) if name else entry.entity
    return f"{kind} #{entry.entity_id}" if entry.entity_id is not None else kind


def _value(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"{_value(value[0])} → {_value(value[1])}"
    if value is None:
        return "—"
    return str(value)


def details(entry: Entry) -> str:
    """``role: employee → manager; via: api`` (stored JSON, shortened)."""
    text = "; ".join(f"{k}: {_value(v)}" for k, v in entry.details.items())
    return text if len(text) <= 300 else text[:299] + "…"
