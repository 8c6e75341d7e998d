"""The texts of Telegram notifications, built when the job runs, from the database, in
the recipient's language."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments.models import Deployment
from devops_center.digest import service as digest
from devops_center.digest.labels import issue_url, status_label
from devops_center.i18n import format_ago, gettext
from devops_center.incidents.models import Incident
from devops_center.outbox.messages import NotifyAdmins, NotifyUser
from devops_center.status.models import CheckState
from devops_center.support.models import BugLog
from devops_center.users import service as users
from devops_center.users.models import User


def _esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def _duration(seconds: float, lang: str) -> str:
    from babel.dates import format_timedelta

    return format_timedelta(timedelta(seconds=max(seconds, 1)), locale=lang, threshold=1.5)


async def user_text(
    session: AsyncSession, settings: Settings, user: User, lang: str, msg: NotifyUser
) -> str | None:
    event = msg.event
    if event == "digest":
        if not (users.is_admin(user) and user.digest_opt_in):
            return None
        return await digest.morning_text(session, settings=settings, lang=lang)
    bug = await session.get(BugLog, msg.bug_id or 0)
    if bug is None or bug.user_id != user.id:
        return None
    title = _esc(bug.title)
    if event == "bug_status":
        new = msg.new or bug.status
        return gettext(
            lang,
            "Your bug #%(id)s “%(title)s” is now: %(status)s.",
            id=bug.id,
            title=title,
            status=status_label(new, lang),
        )
    if event == "photo_failed":
        return gettext(
            lang,
            "Your bug #%(id)s “%(title)s” was filed without its screenshot: the photo could "
            "not be fetched from Telegram. Reply with /mybugs to add information.",
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


async def admin_text(
    session: AsyncSession, settings: Settings, lang: str, msg: NotifyAdmins
) -> str | None:
    event = msg.event
    if event == "critical_bug":
        bug = await session.get(BugLog, msg.bug_id or 0)
        if bug is None:
            return None
        reporter = await session.get(User, bug.user_id)
        return gettext(
            lang,
            "🚨 New critical bug #%(id)s: %(title)s (reported by %(name)s).",
            id=bug.id,
            title=_esc(bug.title),
            name=_esc(reporter.name if reporter else "?"),
        )
    if event == "deployment_finished":
        dep = await session.get(Deployment, msg.deployment_id or 0)
        if dep is None or dep.status == "in_progress":
            return None
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
            text = gettext(
                lang, "❌ Deployment of %(service)s %(sha)s to %(env)s failed.", **params
            )
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
    if event in ("check_down", "check_up", "check_reminder"):
        name = msg.check_name or "?"
        state = await session.get(CheckState, name)
        incident = None
        if msg.incident_id:
            incident = await session.get(Incident, msg.incident_id)
        reason = _esc(state.last_message) if state and state.last_message else ""
        if event == "check_down":
            text = gettext(lang, "🔴 %(name)s is DOWN.", name=_esc(name))
            return text + (f"\n{reason}" if reason else "")
        if event == "check_reminder":
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
    return None
