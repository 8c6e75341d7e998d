"""How the brain's answers read, on the web and in the bot (plain text; escape it)."""

from __future__ import annotations

from babel.dates import format_date

from devops_center.brain.answers import KnownIssue
from devops_center.i18n import gettext, pgettext


def _status(status: str | None, lang: str) -> str:
    # the same words as a bug's status everywhere else ("bug status" context)
    labels = {
        "open": pgettext(lang, "bug status", "Open"),
        "in_progress": pgettext(lang, "bug status", "In progress"),
        "resolved": pgettext(lang, "bug status", "Resolved"),
        "closed": pgettext(lang, "bug status", "Closed"),
    }
    return labels.get(status or "", status or "")


def issue_line(issue: KnownIssue, lang: str) -> str:
    """ "Already reported: …, status in progress" / "Fixed on 3 Dec in deploy abc1234: …"."""
    summary = issue.summary or gettext(lang, "bug #%(id)s", id=issue.source_id)
    day = format_date(issue.fixed_on, "d MMM", locale=lang) if issue.fixed_on else ""
    if issue.kind == "bug" and issue.fixed_on is None:
        return gettext(
            lang,
            "Already reported: %(summary)s, status: %(status)s",
            summary=summary,
            status=_status(issue.status, lang).lower(),
        )
    if issue.deploy:
        return gettext(
            lang,
            "Fixed on %(day)s in deploy %(sha)s: %(summary)s",
            day=day,
            sha=issue.deploy,
            summary=summary,
        )
    if issue.kind == "bug":
        return gettext(lang, "Fixed on %(day)s: %(summary)s", day=day, summary=summary)
    return gettext(lang, "In the changelog of %(day)s: %(summary)s", day=day, summary=summary)
