"""Telegram notifications: ``notify.user``, ``notify.admin`` and the daily ``notify.digest``.

Texts are built when the job runs, from the database, in the recipient's language.
Telegram's answers map onto the worker's rules: 429 → wait ``retry_after`` and retry;
403 (blocked by the user) → mark the user and stop; other errors → retry with backoff
(visible as the job's ``last_error`` on the dashboard).
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments.models import Deployment
from devops_center.digest import service as digest
from devops_center.digest.labels import issue_url, status_label
from devops_center.i18n import format_ago, gettext, pick_language
from devops_center.incidents.models import Incident
from devops_center.integrations.telegram.client import (
    TelegramBadRequest,
    TelegramClient,
    TelegramForbidden,
    TelegramRetryAfter,
)
from devops_center.jobs.registry import JobContext, Periodic, PermanentFailure, RetryLater, job
from devops_center.jobs.registry import periodic as register_periodic
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.status.models import CheckState
from devops_center.support.models import BugLog
from devops_center.users import service as users
from devops_center.users.models import User

log = logging.getLogger("devops_center.notify")

DIGEST_LATE = timedelta(hours=6)  # a worker that was down all morning skips the day


def _esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def client_for(settings: Settings) -> TelegramClient:
    assert settings.telegram_bot_token is not None
    return TelegramClient(
        token=settings.telegram_bot_token.get_secret_value(), api_url=settings.telegram_api_url
    )


async def send(ctx: JobContext, chat_id: int, text: str, *, user_id: int | None = None) -> bool:
    """Send ``text``; True when delivered, False when the recipient blocked the bot."""
    async with client_for(ctx.settings) as client:
        try:
            await client.send_message(chat_id, text)
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        except TelegramForbidden as exc:
            log.info("chat %s refuses messages (%s)", chat_id, exc)
            if user_id is not None:
                async with ctx.sessionmaker() as session, session.begin():
                    user = await session.get(User, user_id)
                    if user is not None:
                        user.telegram_blocked = True
                return False
            raise PermanentFailure(str(exc)) from exc
        except TelegramBadRequest as exc:
            raise PermanentFailure(str(exc)) from exc
    return True


# ------------------------------------------------------------------------ texts


def _duration(seconds: float, lang: str) -> str:
    from babel.dates import format_timedelta

    return format_timedelta(timedelta(seconds=max(seconds, 1)), locale=lang, threshold=1.5)


async def user_text(
    session: AsyncSession, settings: Settings, user: User, lang: str, payload: dict[str, Any]
) -> str | None:
    event = payload.get("event")
    if event == "digest":
        if not (users.is_admin(user) and user.digest_opt_in):
            return None
        return await digest.morning_text(session, settings=settings, lang=lang)
    bug = await session.get(BugLog, int(payload.get("bug_id") or 0))
    if bug is None or bug.user_id != user.id:
        return None
    title = _esc(bug.title)
    if event == "bug_status":
        new = str(payload.get("new") or bug.status)
        return gettext(
            lang,
            "Your bug #%(id)s “%(title)s” is now: %(status)s.",
            id=bug.id,
            title=title,
            status=status_label(new, lang),
        )
    if event == "bug_github_issue":
        number = int(payload.get("issue_number") or bug.github_issue_number or 0)
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
    session: AsyncSession, settings: Settings, lang: str, payload: dict[str, Any]
) -> str | None:
    event = payload.get("event")
    if event == "critical_bug":
        bug = await session.get(BugLog, int(payload.get("bug_id") or 0))
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
        dep = await session.get(Deployment, int(payload.get("deployment_id") or 0))
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
        name = str(payload.get("check_name") or "?")
        state = await session.get(CheckState, name)
        incident = None
        if payload.get("incident_id"):
            incident = await session.get(Incident, int(payload["incident_id"]))
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


# ------------------------------------------------------------------------- jobs


@job("notify.user")
async def notify_user(ctx: JobContext, payload: dict[str, Any]) -> None:
    if not ctx.settings.telegram_bot_token:
        return  # the bot is off: nothing to deliver through
    async with ctx.sessionmaker() as session, session.begin():
        user = await session.get(User, int(payload.get("user_id") or 0))
        if user is None or not user.telegram_id or user.telegram_blocked or not user.is_active:
            return
        lang = pick_language(user.language, default=ctx.settings.default_language)
        text = await user_text(session, ctx.settings, user, lang, payload)
        chat_id, user_id = user.telegram_id, user.id
    if text:
        await send(ctx, chat_id, text, user_id=user_id)


@job("notify.admin")
async def notify_admin(ctx: JobContext, payload: dict[str, Any]) -> None:
    chat_id = ctx.settings.telegram_chat_id
    if not ctx.settings.telegram_bot_token or chat_id is None:
        return
    async with ctx.sessionmaker() as session, session.begin():
        text = await admin_text(session, ctx.settings, ctx.settings.default_language, payload)
    if text:
        await send(ctx, chat_id, text)


@job("notify.digest")
async def notify_digest(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Fan out today's morning digest: one ``notify.user`` job per admin, once per day."""
    async with ctx.sessionmaker() as session, session.begin():
        # The day is the period the scheduler enqueued this job for (its unique key).
        row = await session.get(Job, ctx.job_id)
        key = (row.unique_key or "") if row is not None else ""
        day = key.rsplit(":", 1)[-1] if key.startswith("periodic:") else None
        day = day or digest.morning_key(ctx.settings, utcnow())
        if day is None:
            return
        for admin in await users.list_admins(session):
            if not admin.telegram_id or admin.telegram_blocked or not admin.digest_opt_in:
                continue
            await outbox.enqueue(
                session,
                kind="notify.user",
                payload={"user_id": admin.id, "event": "digest", "day": day},
                unique_key=f"notify.digest:{day}:{admin.id}",
                max_attempts=5,
            )


def _digest_key(settings: Settings, now: Any) -> str | None:
    key = digest.morning_key(settings, now)
    if key is None:
        return None
    local = now.astimezone(settings.tz)
    start = local.replace(
        hour=settings.morning_at.hour, minute=settings.morning_at.minute, second=0, microsecond=0
    )
    return key if local - start <= DIGEST_LATE else None


register_periodic(
    Periodic(
        kind="notify.digest",
        key_at=_digest_key,
        enabled=lambda s: s.telegram_bot_token is not None,
    )
)
