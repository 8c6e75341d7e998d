"""The texts of Telegram notifications, built when the job runs, from the database, in
the recipient's language."""

from __future__ import annotations

import html
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments.models import Deployment
from devops_center.digest import service as digest
from devops_center.digest.labels import issue_url, status_label
from devops_center.i18n import format_ago, format_datetime, gettext
from devops_center.incidents.models import Incident
from devops_center.outbox.messages import NotifyAdmins, NotifyUser
from devops_center.status.models import CheckState
from devops_center.support import duplicates
from devops_center.support.models import BugComment, BugLog
from devops_center.users import service as users
from devops_center.users.models import User


def live_since(when: datetime, lang: str, settings: Settings) -> str:
    """ "14:05" today (in the configured time zone), else "3 Dec, 14:05"."""
    local = when.astimezone(settings.tz)
    if local.date() == utcnow().astimezone(settings.tz).date():
        return format_datetime(when, lang, settings.tz, "HH:mm")
    return format_datetime(when, lang, settings.tz, "d MMM, HH:mm")


def _esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def _duration(seconds: float, lang: str) -> str:
    from babel.dates import format_timedelta

    return format_timedelta(timedelta(seconds=max(seconds, 1)), locale=lang, threshold=1.5)


COMMENT_SHOWN = 3_000  # of a reply's text in the message (the rest: on the web page)


async def _comment_text(
    session: AsyncSession, user: User, lang: str, bug: BugLog, comment_id: int | None
) -> str | None:
    """A reply on a bug: to its reporter (from the team or GitHub), or to its assignee
    (from the reporter). Never an internal note, never to anyone else."""
    comment = await session.get(BugComment, comment_id or 0)
    if comment is None or comment.bug_id != bug.id or comment.internal:
        return None
    if comment.from_team and user.id != bug.user_id:
        return None
    if not comment.from_team and user.id != bug.assigned_to:
        return None
    text = comment.body
    if len(text) > COMMENT_SHOWN:
        text = text[:COMMENT_SHOWN].rstrip() + "…"
    body = _esc(text)
    if comment.attachment_key:
        body = (body + "\n" if body else "") + gettext(lang, "(an image is attached)")
    if comment.from_team:
        author = await session.get(User, comment.author_id) if comment.author_id else None
        who = author.name if author is not None else (comment.github_login or "GitHub")
        head = gettext(
            lang,
            "%(who)s replied on your bug #%(id)s “%(title)s”:",
            who=_esc(who),
            id=bug.id,
            title=_esc(bug.title),
        )
    else:
        head = gettext(
            lang,
            "The reporter wrote on bug #%(id)s “%(title)s”:",
            id=bug.id,
            title=_esc(bug.title),
        )
    return f"{head}\n\n{body}"


async def user_text(
    session: AsyncSession, settings: Settings, user: User, lang: str, msg: NotifyUser
) -> str | None:
    event = msg.event
    if event == "digest":
        if not (users.is_admin(user) and user.digest_opt_in):
            return None
        return await digest.morning_text(session, settings=settings, lang=lang)
    bug = await session.get(BugLog, msg.bug_id or 0)
    if bug is not None and event == "followed_status":
        # the original of a report of theirs: its public face only, never its text
        if user.id not in await duplicates.followers(session, bug.id):
            return None
        return gettext(
            lang,
            "Bug #%(id)s, which your report repeats, is now: %(status)s.%(summary)s",
            id=bug.id,
            status=status_label(msg.new or bug.status, lang),
            summary=f" ({_esc(bug.public_summary)})" if bug.public_summary else "",
        )
    if bug is not None and event == "bug_comment":
        return await _comment_text(session, user, lang, bug, msg.comment_id)
    if bug is None or bug.user_id != user.id:
        return None
    title = _esc(bug.title)
    if event == "bug_duplicate":
        return gettext(
            lang,
            "Your bug #%(id)s “%(title)s” was already reported as bug #%(original)s: it was "
            "merged into it, and I will write here whenever that bug's status changes.",
            id=bug.id,
            title=title,
            original=msg.original_id or 0,
        )
    if event == "bug_status":
        new = msg.new or bug.status
        return gettext(
            lang,
            "Your bug #%(id)s “%(title)s” is now: %(status)s.",
            id=bug.id,
            title=title,
            status=status_label(new, lang),
        )
    if event == "fix_live":
        if bug.fix_live_at is None:
            return None
        return gettext(
            lang,
            "The bug you reported, «%(title)s», is fixed and live since %(when)s.",
            title=title,
            when=live_since(bug.fix_live_at, lang, settings),
        )
    if event == "photo_failed":
        return gettext(
            lang,
            "Your bug #%(id)s “%(title)s” was filed without its screenshot: the photo could "
            "not be fetched from Telegram. Reply with /mybugs to add information.",
            id=bug.id,
            title=title,
        )
    if event == "comment_photo_failed":
        if msg.comment_id is not None:
            return gettext(
                lang,
                "The photo you sent for bug #%(id)s “%(title)s” could not be fetched from "
                "Telegram: your message was added without it. Send the photo again with "
                "/mybugs, or attach it on the bug's web page.",
                id=bug.id,
                title=title,
            )
        return gettext(
            lang,
            "The photo you sent for bug #%(id)s “%(title)s” could not be fetched from "
            "Telegram, so nothing was added. Send it again with /mybugs, or attach it on the "
            "bug's web page.",
            id=bug.id,
            title=title,
        )
    if event == "bug_github_issue":
        number = msg.issue_number or bug.github_issue_number or 0
        url = issue_url(settings, number)
        ref = f'<a href="{html.escape(url)}">#{number}</a>' if url else f"#{number}"
        return gettext(
            lang,
            "GitHub issue %(issue)s created for your bug #%(id)s “%(title)s”.",
            issue=ref,
            id=bug.id,
            title=title,
        )
    return None


@dataclass(frozen=True)
class AdminAlert:
    """An alert's text and the pages it links to (label, absolute URL)."""

    text: str
    links: list[tuple[str, str]] = field(default_factory=list)

    def markup(self, settings: Settings) -> dict[str, Any] | None:
        """URL buttons, when the hub has a public address (Telegram refuses a button to
        a private one, and the whole message with it); else None (see :meth:`full_text`)."""
        if not self.links or not public_address(settings.base_url):
            return None
        return {"inline_keyboard": [[{"text": label, "url": url} for label, url in self.links]]}

    def full_text(self, settings: Settings) -> str:
        if not self.links or public_address(settings.base_url):
            return self.text
        return self.text + "".join(f"\n{html.escape(url)}" for _label, url in self.links)


def public_address(url: str) -> bool:
    """Whether Telegram accepts a link button to ``url`` (not loopback or private)."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith((".local", ".internal", ".lan")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return address.is_global


def _link(settings: Settings, label: str, path: str) -> tuple[str, str]:
    return label, settings.base_url.rstrip("/") + path


async def admin_alert(
    session: AsyncSession, settings: Settings, lang: str, msg: NotifyAdmins
) -> AdminAlert | None:
    event = msg.event
    if event == "critical_bug":
        bug = await session.get(BugLog, msg.bug_id or 0)
        if bug is None:
            return None
        reporter = await session.get(User, bug.user_id)
        text = gettext(
            lang,
            "🚨 New critical bug #%(id)s: %(title)s (reported by %(name)s).",
            id=bug.id,
            title=_esc(bug.title),
            name=_esc(reporter.name if reporter else "?"),
        )
        return AdminAlert(
            text, [_link(settings, gettext(lang, "Open the bug"), f"/admin/bugs/{bug.id}")]
        )
    if event == "deployment_finished":
        dep = await session.get(Deployment, msg.deployment_id or 0)
        if dep is None or dep.status == "in_progress":
            return None
        links = [
            _link(settings, gettext(lang, "Open the deployment"), f"/admin/deployments/{dep.id}")
        ]
        return AdminAlert(_deployment_text(dep, lang), links)
    if event in ("check_down", "check_up", "check_reminder"):
        text = await _check_text(session, lang, msg)
        return AdminAlert(
            text, [_link(settings, gettext(lang, "Open the status page"), "/admin/status")]
        )
    return None


def _deployment_text(dep: Deployment, lang: str) -> str:
    params = {
        "service": _esc(dep.service),
        "env": _esc(dep.environment),
        "sha": _esc(dep.commit_sha[:7]),
        "duration": _duration(dep.duration_seconds, lang)
        if dep.duration_seconds is not None
        else "?",
    }
    if dep.status == "success":
        text = gettext(
            lang, "✅ Deployed %(service)s %(sha)s to %(env)s in %(duration)s.", **params
        )
    elif dep.status == "rolled_back":
        text = gettext(
            lang, "↩️ Deployment of %(service)s %(sha)s to %(env)s was rolled back.", **params
        )
    else:
        text = gettext(lang, "❌ Deployment of %(service)s %(sha)s to %(env)s failed.", **params)
    if dep.status != "success" and dep.failure_reason:
        text += "\n" + gettext(lang, "Reason: %(reason)s", reason=_esc(dep.failure_reason))
    if dep.tests_passed is not None or dep.tests_failed is not None:
        text += "\n" + gettext(
            lang,
            "Tests: %(passed)s passed, %(failed)s failed.",
            passed=dep.tests_passed or 0,
            failed=dep.tests_failed or 0,
        )
    if dep.url:
        text += f"\n{_esc(dep.url)}"
    return text


async def _check_text(session: AsyncSession, lang: str, msg: NotifyAdmins) -> str:
    name = msg.check_name or "?"
    state = await session.get(CheckState, name)
    incident = await session.get(Incident, msg.incident_id) if msg.incident_id else None
    if msg.event == "check_down":
        reason = msg.message or (state.last_message if state else None)
        text = gettext(lang, "🔴 %(name)s is DOWN.", name=_esc(name))
        return text + (f"\n{_esc(reason)}" if reason else "")
    if msg.event == "check_reminder":
        since = incident.opened_at if incident else (state.since if state else None)
        ago = format_ago(since, lang, now=utcnow()) if since else "?"
        return gettext(
            lang, "🔴 %(name)s is still down; it went down %(ago)s.", name=_esc(name), ago=ago
        )
    if incident is not None and incident.resolved_at is not None:
        down = (incident.resolved_at - incident.opened_at).total_seconds()
        return gettext(
            lang,
            "🟢 %(name)s is back up after %(duration)s.",
            name=_esc(name),
            duration=_duration(down, lang),
        )
    return gettext(lang, "🟢 %(name)s is back up.", name=_esc(name))
