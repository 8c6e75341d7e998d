"""Labels shared by the bot's replies and the notifications (status, priority, links)."""

from __future__ import annotations

from devops_center.config import Settings
from devops_center.i18n import gettext, lazy, pgettext

STATUS_LABELS = {
    "open": lazy("Open"),
    "in_progress": lazy("In progress"),
    "resolved": lazy("Resolved"),
    "closed": lazy("Closed"),
}
PRIORITY_LABELS = {
    "critical": lazy("Critical"),
    "high": lazy("High"),
    "medium": lazy("Medium"),
    "low": lazy("Low"),
}
PRIORITY_ICONS = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🟢"}


def status_label(status: str, lang: str) -> str:
    """A bug's status, in the form that agrees with «баг» in Russian."""
    if status not in STATUS_LABELS:
        return status
    return pgettext(lang, "bug status", STATUS_LABELS[status])


def priority_label(priority: str, lang: str) -> str:
    if priority not in PRIORITY_LABELS:
        return priority
    return f"{PRIORITY_ICONS[priority]} {gettext(lang, PRIORITY_LABELS[priority])}"


def issue_url(settings: Settings, number: int) -> str | None:
    """The GitHub (or GitHub Enterprise) page of an issue of ``GITHUB_REPO``."""
    if not settings.github_repo:
        return None
    api = settings.github_api_url
    base = "https://github.com" if api == "https://api.github.com" else api.removesuffix("/api/v3")
    return f"{base}/{settings.github_repo}/issues/{number}"
