"""Support's jobs: a photo sent to the bot stored as the bug's screenshot or added to
the bug's conversation, and the hourly removal of stored files no bug refers to.

``telegram.fetch_photo``: download a bug's screenshot from Telegram and store it.
``telegram.fetch_comment_photo``: download a photo sent to add to a bug, and add it
(with its caption) as the sender's comment.

The bot only remembers the photo's ``file_id``; this job asks ``getFile`` for its path,
downloads ``{TELEGRAM_API_URL}/file/bot<token>/<path>`` (at most ``DCC_MAX_UPLOAD_MB``),
checks that it is an image and stores it like a web upload. Safe to run twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from devops_center.errors import Invalid, NotFound, RateLimited, Unavailable
from devops_center.integrations.telegram.client import (
    TelegramBadRequest,
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
from devops_center.support.models import BugComment, BugLog
from devops_center.support.uploads import store_image
from devops_center.users.models import User

log = logging.getLogger("devops_center.support")

FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


class _Lost(Exception):
    """The photo cannot be had (refused by Telegram, too large, gone)."""


async def _download(ctx: JobContext, file_id: str) -> bytes:
    """A file sent to the bot, at most ``DCC_MAX_UPLOAD_MB``: _Lost when it cannot be
    had, RetryLater when Telegram asks us to wait, TelegramError (retried) otherwise."""
    if not ctx.settings.telegram_bot_token:
        raise PermanentFailure("the bot is off (TELEGRAM_BOT_TOKEN is not set)")
    limit = ctx.settings.max_upload_bytes
    async with client_for(ctx.settings) as client:
        try:
            info = await client.get_file(file_id)
            if int(info.get("file_size") or 0) > limit:
                raise _Lost("the photo is larger than the upload limit")
            path = info.get("file_path")
            if not path:
                raise _Lost("getFile returned no file_path")
            return await client.download(str(path), max_bytes=limit)
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        except TelegramBadRequest as exc:
            raise _Lost(str(exc)) from exc


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
    try:
        data = await _download(ctx, file_id)
    except _Lost as exc:
        raise await _photo_lost(ctx, bug_id, f"photo of bug #{bug_id}: {exc}") from exc
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


async def _add_photo_comment(
    ctx: JobContext, msg: m.FetchCommentPhoto, image: bytes | None
) -> BugComment | None:
    """The sender's comment with the image (or the caption alone, without one); None when
    there is nothing to add (no caption) or the bug is no longer theirs to comment on."""
    if image is None and not msg.caption:
        return None
    async with ctx.sessionmaker() as session, session.begin():
        author = await session.get(User, msg.author_id)
        if author is None:
            return None
        data = support.CommentInput(
            body=msg.caption, attachment=image, client_token=msg.client_token
        )
        try:
            added = await support.add_comment(
                session,
                settings=ctx.settings,
                bug_id=msg.bug_id,
                author_id=author.id,
                team=support.is_team(author),
                data=data,
                source="telegram",
            )
        except NotFound:
            return None
        except RateLimited as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        return added.comment


async def _tell_lost(ctx: JobContext, msg: m.FetchCommentPhoto, comment_id: int | None) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await outbox.enqueue(
            session,
            m.NotifyUser(
                user_id=msg.author_id,
                event="comment_photo_failed",
                bug_id=msg.bug_id,
                comment_id=comment_id,
            ),
            unique_key=f"notify.comment_photo_failed:{msg.client_token}",
        )


@handles(m.FetchCommentPhoto)
async def fetch_comment_photo(ctx: JobContext, msg: m.FetchCommentPhoto) -> None:
    """Download the photo and add it, with its caption, as the sender's comment; safe to
    run twice (the comment's ``client_token``). Lost (or not an image): the caption alone
    is added, and the sender is told."""
    try:
        image: bytes | None = await _download(ctx, msg.file_id)
    except _Lost as exc:
        log.info("photo for bug #%s not fetched: %s", msg.bug_id, exc)
        image = None
    try:
        comment = await _add_photo_comment(ctx, msg, image)
    except Invalid as exc:  # not an image after all
        log.info("photo for bug #%s refused: %s", msg.bug_id, exc)
        image = None
        comment = await _add_photo_comment(ctx, msg, None)
    if image is None:
        await _tell_lost(ctx, msg, comment.id if comment is not None else None)


@handles(m.PurgeOrphanUploads)
async def purge_uploads(ctx: JobContext, msg: m.PurgeOrphanUploads) -> None:
    """Files older than an hour that no bug or comment refers to are leftovers: remove
    them."""
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
        used |= set(
            (
                await session.scalars(
                    select(BugComment.attachment_key).where(BugComment.attachment_key.in_(names))
                )
            ).all()
        )
    for name in names:
        if name not in used:
            uploads.remove_file(ctx.settings, name)


periodic(Periodic(m.PurgeOrphanUploads(), every=timedelta(hours=1)))
