"""``telegram.fetch_photo``: download a bug's screenshot from Telegram and store it.

The bot only remembers the photo's ``file_id``; this job asks ``getFile`` for its path,
downloads ``{TELEGRAM_API_URL}/file/bot<token>/<path>`` (at most ``DCC_MAX_UPLOAD_MB``),
checks that it is an image and stores it like a web upload. Safe to run twice.
"""

from __future__ import annotations

from typing import Any

from devops_center.errors import Invalid
from devops_center.integrations.telegram.client import (
    TelegramBadRequest,
    TelegramError,
    TelegramRetryAfter,
)
from devops_center.jobs import github as github_jobs
from devops_center.jobs.notify import client_for
from devops_center.jobs.registry import JobContext, PermanentFailure, RetryLater, job
from devops_center.support.models import BugLog
from devops_center.support.uploads import store_image

FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


@job("telegram.fetch_photo")
async def fetch_photo(ctx: JobContext, payload: dict[str, Any]) -> None:
    bug_id = int(payload.get("bug_id") or 0)
    file_id = str(payload.get("file_id") or "")
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
                raise PermanentFailure(f"photo of bug #{bug_id} is larger than the upload limit")
            path = info.get("file_path")
            if not path:
                raise PermanentFailure("getFile returned no file_path")
            data = await client.download(str(path), max_bytes=limit)
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), delay=exc.retry_after) from exc
        except TelegramBadRequest as exc:
            raise PermanentFailure(str(exc)) from exc
        except TelegramError:
            raise
    try:
        name = store_image(ctx.settings, data)
    except Invalid as exc:
        raise PermanentFailure(f"photo of bug #{bug_id}: {exc}") from exc
    async with ctx.sessionmaker() as session, session.begin():
        bug = await session.get(BugLog, bug_id, with_for_update=True)
        if bug is None or bug.screenshot_key:
            (ctx.settings.uploads_path / name).unlink(missing_ok=True)
            return
        bug.screenshot_key = name
        bug.screenshot_url = f"/support/bugs/{bug.id}/screenshot"
        await github_jobs.screenshot_arrived(session, bug)
