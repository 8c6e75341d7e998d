"""Filing a bug: the one use case the web form, the bot's /bug dialog and the API call.

What it guarantees, whoever calls it and however often:
- a report is validated whole before anything is stored, and refused with every field's
  message (``Invalid``), or with ``RateLimited`` when the reporter filed too many;
- the rate limit and the screenshot's size are checked before any image is decoded, and
  decoding / re-encoding runs in a thread, never on the event loop;
- a repeated submit (the same form token: a double click, a retry, twenty at once)
  returns the bug the first one filed, and the per-reporter limit holds under
  concurrency: both are decided while the reporter's row is locked (PostgreSQL) or the
  database's write lock is held (SQLite);
- a stored screenshot whose bug is not saved is deleted, also when the caller's
  transaction rolls back later (a crash in between leaves an orphan file that the
  hourly ``support.purge_uploads`` job removes);
- the bug, its GitHub job, its incident (critical) and its alert commit together in the
  caller's transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import traces
from devops_center.config import Settings
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.support import uploads
from devops_center.support.bugs import (
    BugInput,
    check_bug_rate_limit,
    open_critical_incident,
    validate_bug,
)
from devops_center.support.models import BugLog
from devops_center.users.models import User

SOURCES = ("web", "telegram", "api")


def _store(settings: Settings, data: bytes) -> str:
    return uploads.store_image(settings, data)


@dataclass(frozen=True)
class BugReport:
    """A report as its reporter gives it, on any channel."""

    title: str
    what_doing: str
    expected: str
    actual: str
    priority: str = "medium"
    screenshot: bytes | None = None  # an uploaded image (web, API)
    telegram_file_id: str | None = None  # a photo sent to the bot: fetched by the worker
    client_token: str | None = None  # the form's one-time token: a repeat returns the first


@dataclass(frozen=True)
class Filed:
    bug: BugLog
    repeated: bool = False  # the same token was filed before: this is that bug


async def _lock_reporter(session: AsyncSession, reporter_id: int) -> None:
    """Serialize this reporter's filings until the transaction ends: a row lock on
    PostgreSQL; on SQLite any write takes the database's write lock, after which every
    read of this transaction sees the latest data."""
    await session.execute(update(User).where(User.id == reporter_id).values(id=User.id))


async def _repeat(session: AsyncSession, reporter_id: int, token: str | None) -> BugLog | None:
    if not token:
        return None
    return await session.scalar(
        select(BugLog).where(BugLog.client_token == token, BugLog.user_id == reporter_id)
    )


async def _token_holder(session: AsyncSession, token: str | None) -> BugLog | None:
    """The bug filed with ``token`` by anyone (one statement for "a repeat of mine?" and
    "someone else's token?")."""
    if not token:
        return None
    return await session.scalar(select(BugLog).where(BugLog.client_token == token).limit(1))


async def file_bug(
    session: AsyncSession,
    *,
    settings: Settings,
    reporter_id: int,
    report: BugReport,
    source: str,
) -> Filed:
    """Validate, rate-limit and save a bug with its GitHub job (the caller's transaction)."""
    token = (report.client_token or "").strip()[:64] or None
    # A repeat is answered before anything else (no second validation, no decoding).
    found = await _repeat(session, reporter_id, token)
    if found is not None:
        return Filed(found, repeated=True)
    clean = validate_bug(
        BugInput(report.title, report.what_doing, report.expected, report.actual, report.priority)
    )
    if report.screenshot is not None:
        uploads.check_size(report.screenshot, max_bytes=settings.max_upload_bytes)
    key = None
    if report.screenshot is not None:
        # An optimistic check first, so a reporter over the limit costs no decoding...
        await check_bug_rate_limit(
            session, user_id=reporter_id, per_hour=settings.bug_rate_limit_per_hour
        )
        key = await asyncio.to_thread(_store, settings, report.screenshot)
    try:
        # ...and the deciding one under the reporter's lock (the only one without an
        # image: each statement here is a share of the bot's Submit, bench/bot.py).
        await _lock_reporter(session, reporter_id)
        holder = await _token_holder(session, token)
        if holder is not None and holder.user_id == reporter_id:
            uploads.delete_image(settings, key)
            return Filed(holder, repeated=True)
        if holder is not None:
            token = None  # someone else's token: never reveal or reuse their bug
        await check_bug_rate_limit(
            session, user_id=reporter_id, per_hour=settings.bug_rate_limit_per_hour
        )
        bug = await _insert(session, reporter_id, clean, source=source, key=key, token=token)
    except BaseException:
        uploads.delete_image(settings, key)
        raise
    if key:
        uploads.delete_on_rollback(session, settings, key)
    if report.telegram_file_id:
        await outbox.enqueue(
            session,
            messages.FetchBugPhoto(bug_id=bug.id, file_id=report.telegram_file_id),
            unique_key=f"{messages.FetchBugPhoto.kind}:{bug.id}",
        )
    return Filed(bug)


async def _insert(
    session: AsyncSession,
    reporter_id: int,
    clean: BugInput,
    *,
    source: str,
    key: str | None,
    token: str | None,
) -> BugLog:
    fields = {
        "user_id": reporter_id,
        "title": clean.title,
        "what_doing": clean.what_doing,
        "expected": clean.expected,
        "actual": clean.actual,
        "priority": clean.priority,
        "status": "open",
        "source": source if source in SOURCES else "web",
        "screenshot_key": key,
    }
    bug: BugLog | None = None
    if token:
        # The reporter's lock makes a conflict unreachable for one reporter; a token
        # reused by another account at the same instant still must not fail the request:
        # ON CONFLICT DO NOTHING, then the bug without the token (one statement, where a
        # savepoint around the insert took three).
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = (
            insert(BugLog)
            .values(**fields, client_token=token)
            .on_conflict_do_nothing(index_elements=["client_token"])
            .returning(BugLog)
        )
        bug = (await session.scalars(stmt)).one_or_none()
    if bug is None:
        bug = BugLog(**fields)
        session.add(bug)
        await session.flush()
    if key:
        bug.screenshot_url = f"/support/bugs/{bug.id}/screenshot"
    await outbox.enqueue(
        session,
        messages.CreateGithubIssue(bug_id=bug.id),
        unique_key=f"{messages.CreateGithubIssue.kind}:{bug.id}",
        max_attempts=50,
    )
    # the support brain learns it (known issues, likely duplicates) through the worker
    await outbox.enqueue(session, messages.IndexBrainDocument(source="bug", source_id=bug.id))
    # its weight: the stack traces it quotes, against the architecture (changelog.weights);
    # a report without a trace has nothing to weigh until a pull request closes its issue
    if traces.quoted(bug.what_doing, bug.expected, bug.actual):
        await outbox.enqueue(session, messages.RescoreImpact(bug_id=bug.id))
    if bug.priority == "critical":
        await open_critical_incident(session, bug)
        await outbox.enqueue(
            session,
            messages.NotifyAdmins(event="critical_bug", bug_id=bug.id),
            unique_key=f"notify.admin:critical_bug:{bug.id}",
        )
    return bug
