"""The bot's own pages of a reporter's bugs (list and detail), as Telegram HTML.

The numbers and labels come from the support feature and the shared labels; only the
layout for a chat lives here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from devops_center.bot.ui import esc
from devops_center.config import Settings
from devops_center.digest.labels import issue_url, priority_label, status_label
from devops_center.i18n import format_datetime, gettext, ngettext
from devops_center.support.models import BugComment, BugLog
from devops_center.users.models import AuditLog


def bugs_count(n: int, lang: str) -> str:
    return ngettext(lang, "%(num)s bug", "%(num)s bugs", n)


def _when(bug_time: object, lang: str, settings: Settings) -> str:
    return esc(format_datetime(bug_time, lang, settings.tz, "short"))  # type: ignore[arg-type]


def _github(bug: BugLog, settings: Settings) -> str:
    if not bug.github_issue_number:
        return ""
    url = issue_url(settings, bug.github_issue_number)
    ref = f"GitHub #{bug.github_issue_number}"
    return f' · <a href="{esc(url)}">{ref}</a>' if url else f" · {ref}"


def bug_page(bugs: Sequence[BugLog], offset: int, total: int, lang: str, settings: Settings) -> str:
    lines = [
        gettext(
            lang,
            "📋 Your reports: %(count)s. Shown %(first)s–%(last)s:",
            count=bugs_count(total, lang),
            first=offset + 1,
            last=offset + len(bugs),
        )
    ]
    for bug in bugs:
        lines.append(
            f"\n<b>#{bug.id}</b> {esc(bug.title)}\n"
            f"{status_label(bug.status, lang)} · {priority_label(bug.priority, lang)} · "
            f"{_when(bug.created_at, lang, settings)}{_github(bug, settings)}"
        )
    return "\n".join(lines)


def _history_line(entry: AuditLog, lang: str, settings: Settings) -> str | None:
    try:
        details = json.loads(entry.details or "{}")
    except ValueError:
        details = {}
    when = _when(entry.created_at, lang, settings)
    if entry.action == "add_information":  # before additions became comments (kept rows)
        return gettext(lang, "%(when)s: you added information", when=when)
    status = details.get("status") if isinstance(details, dict) else None
    if isinstance(status, list) and len(status) == 2:
        return gettext(
            lang,
            "%(when)s: status %(status)s",
            when=when,
            status=status_label(str(status[1]), lang),
        )
    return None


COMMENTS_SHOWN = 5
COMMENT_CHARS = 600


def _comment_line(comment: BugComment, lang: str, settings: Settings) -> str:
    if comment.source == "github" and comment.github_login:
        who = esc(comment.github_login) + " (GitHub)"
    elif comment.from_team:
        who = esc(gettext(lang, "Team"))
    else:
        who = esc(gettext(lang, "You"))
    body = (
        comment.body if len(comment.body) <= COMMENT_CHARS else comment.body[:COMMENT_CHARS] + "…"
    )
    return f"<b>{who}</b>, {_when(comment.created_at, lang, settings)}:\n{esc(body)}"


def bug_detail(
    bug: BugLog,
    history: Sequence[AuditLog],
    lang: str,
    settings: Settings,
    comments: Sequence[BugComment] = (),
) -> str:
    fields = (
        (gettext(lang, "What I was doing"), bug.what_doing),
        (gettext(lang, "What I expected"), bug.expected),
        (gettext(lang, "What happened"), bug.actual),
    )
    lines = [
        f"<b>#{bug.id} {esc(bug.title)}</b>",
        f"{status_label(bug.status, lang)} · {priority_label(bug.priority, lang)} · "
        f"{_when(bug.created_at, lang, settings)}{_github(bug, settings)}",
        "",
        *(f"<b>{esc(name)}:</b> {esc(value)}" for name, value in fields),
    ]
    events = [line for e in history if (line := _history_line(e, lang, settings))]
    lines += ["", f"<b>{esc(gettext(lang, 'History'))}</b>"]
    lines += events or [gettext(lang, "No changes yet.")]
    lines += ["", f"<b>{esc(gettext(lang, 'Comments'))}</b>"]
    if not comments:
        lines.append(gettext(lang, "No comments yet. The team's replies will appear here."))
    elif len(comments) > COMMENTS_SHOWN:
        older = len(comments) - COMMENTS_SHOWN
        lines.append(gettext(lang, "%(n)s earlier ones are on the bug's web page.", n=older))
    lines += [_comment_line(c, lang, settings) for c in comments[-COMMENTS_SHOWN:]]
    return "\n".join(lines)
