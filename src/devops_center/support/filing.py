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
import threading
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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

# Decoding a large image costs up to a second of CPU and ~100 MB: two at a time per
# process (a thread semaphore: taken inside the worker thread, whatever the event loop).
_IMAGE_SLOTS = threading.BoundedSemaphore(2)


def _store(settings: Settings, data: bytes) -> str:
    with _IMAGE_SLOTS:
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


async def _token_taken(session: AsyncSession, token: str | None) -> bool:
    if not token:
        return False
    return (await session.scalar(select(BugLog.id).where(BugLog.client_token == token))) is not None


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
    # Optimistic check first, so a reporter over the limit costs no decoding...
    await check_bug_rate_limit(
        session, user_id=reporter_id, per_hour=settings.bug_rate_limit_per_hour
    )
    key = None
    if report.screenshot is not None:
        key = await asyncio.to_thread(_store, settings, report.screenshot)
    try:
        # ...and the deciding one under the reporter's lock.
        await _lock_reporter(session, reporter_id)
        found = await _repeat(session, reporter_id, token)
        if found is not None:
            uploads.delete_image(settings, key)
            return Filed(found, repeated=True)
        await check_bug_rate_limit(
            session, user_id=reporter_id, per_hour=settings.bug_rate_limit_per_hour
        )
        if await _token_taken(session, token):
            token = None  # someone else's token: never reveal or reuse their bug
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
    bug = BugLog(
        user_id=reporter_id,
        title=clean.title,
        what_doing=clean.what_doing,
        expected=clean.expected,
        actual=clean.actual,
        priority=clean.priority,
        status="open",
        source=source if source in SOURCES else "web",
        screenshot_key=key,
        client_token=token,
    )
    try:
        async with session.begin_nested():
            session.add(bug)
            await session.flush()
    except IntegrityError:
        # The reporter's lock makes this unreachable for one reporter; a token reused
        # by another account at the same instant still must not fail the request.
        bug.client_token = None
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
    if bug.priority == "critical":
        await open_critical_incident(session, bug)
        await outbox.enqueue(
            session,
            messages.NotifyAdmins(event="critical_bug", bug_id=bug.id),
            unique_key=f"notify.admin:critical_bug:{bug.id}",
        )
    return bug
