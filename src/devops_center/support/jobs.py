"""Support's jobs: a photo sent to the bot stored as the bug's screenshot, and the
hourly removal of stored files no bug refers to.

``telegram.fetch_photo``: download a bug's screenshot from Telegram and store it.

The bot only remembers the photo's ``file_id``; this job asks ``getFile`` for its path,
downloads ``{TELEGRAM_API_URL}/file/bot<token>/<path>`` (at most ``DCC_MAX_UPLOAD_MB``),
checks that it is an image and stores it like a web upload. Safe to run twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from devops_center.errors import Invalid, Unavailable
from devops_center.integrations.telegram.client import (
    TelegramBadRequest,
    TelegramError,
    TelegramRetryAfter,
    client_for,
)
from devops_center.outbox import messages as m
from devops_center.outbox import service as outbox
from devops_center.outbox.registry import (
    JobContext,
    Periodic,
    PermanentFailure,
    RetryLater,
    handles,
    periodic,
)
from devops_center.support import service as support
from devops_center.support import uploads
from devops_center.support.models import BugLog
from devops_center.support.uploads import store_image

FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


async def _photo_lost(ctx: JobContext, bug_id: int, reason: str) -> PermanentFailure:
    """The photo cannot be had: the reporter is told, the job stops with ``reason``."""
    async with ctx.sessionmaker() as session, session.begin():
        bug = await session.get(BugLog, bug_id)
        if bug is not None:
            await outbox.enqueue(
                session,
                m.NotifyUser(user_id=bug.user_id, event="photo_failed", bug_id=bug_id),
                unique_key=f"notify.photo_failed:{bug_id}",
            )
    return PermanentFailure(reason)


@handles(m.FetchBugPhoto)
async def fetch_photo(ctx: JobContext, msg: m.FetchBugPhoto) -> None:
    bug_id, file_id = msg.bug_id, msg.file_id
    async with ctx.sessionmaker() as session:
        bug = await session.get(BugLog, bug_id)
        if bug is None or bug.screenshot_key or not file_id:
            return
    if not ctx.settings.telegram_bot_token:
        raise PermanentFailure("the bot is off (TELEGRAM_BOT_TOKEN is not set)")
    limit = ctx.settings.max_upload_bytes
    async with client_for(ctx.settings) as client:
        try:
            info = await client.get_file(file_id)
            if int(info.get("file_size") or 0) > limit:
                reason = f"photo of bug #{bug_id} is larger than the upload limit"
                raise await _photo_lost(ctx, bug_id, reason)
            path = info.get("file_path")
            if not path:
                raise await _photo_lost(ctx, bug_id, "getFile returned no file_path")
            data = await client.download(str(path), max_bytes=limit)
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        except TelegramBadRequest as exc:
            raise await _photo_lost(ctx, bug_id, str(exc)) from exc
        except TelegramError:
            raise
    try:
        name = await asyncio.to_thread(store_image, ctx.settings, data)
    except Unavailable as exc:
        raise RetryLater(f"photo of bug #{bug_id}: {exc}", delay=300) from exc
    except Invalid as exc:
        raise await _photo_lost(ctx, bug_id, f"photo of bug #{bug_id}: {exc}") from exc
    async with ctx.sessionmaker() as session, session.begin():
        bug = await session.get(BugLog, bug_id, with_for_update=True)
        if bug is None or bug.screenshot_key:
            (ctx.settings.uploads_path / name).unlink(missing_ok=True)
            return
        bug.screenshot_key = name
        bug.screenshot_url = f"/support/bugs/{bug.id}/screenshot"
        await support.screenshot_stored(session, bug)


@handles(m.PurgeOrphanUploads)
async def purge_uploads(ctx: JobContext, msg: m.PurgeOrphanUploads) -> None:
    """Files older than an hour that no bug refers to are leftovers: remove them."""
    names = await asyncio.to_thread(
        uploads.stored_files, ctx.settings, older_than=uploads.ORPHAN_AFTER
    )
    if not names:
        return
    async with ctx.sessionmaker() as session:
        used = set(
            (
                await session.scalars(
                    select(BugLog.screenshot_key).where(BugLog.screenshot_key.in_(names))
                )
            ).all()
        )
    for name in names:
        if name not in used:
            uploads.remove_file(ctx.settings, name)


periodic(Periodic(m.PurgeOrphanUploads(), every=timedelta(hours=1)))
