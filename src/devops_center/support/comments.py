"""The conversation on a bug: comments of the reporter and the team (internal notes only
the team sees), an image attached to any of them, GitHub issue comments mirrored in, and
the timeline that merges them with the bug's status changes.

The web page, the API and the bot call these functions; the caller owns the transaction
(a comment, its stored image, its GitHub job and its notifications commit together).

Who is "the team": the callers that see every bug (owners and superadmins, and API
integrations); anyone else is a reporter and reaches only their own bugs (NotFound
otherwise, never 403).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import traces
from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound, RateLimited
from devops_center.i18n import lazy
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.support import uploads
from devops_center.support.models import BugComment, BugLog
from devops_center.users import auditlog
from devops_center.users import service as users
from devops_center.users.models import AuditLog, User

COMMENT_MAX = 4_000  # a Telegram message holds 4,096 characters
GITHUB_COMMENT_MAX = 65_536  # GitHub's own limit
COMMENTS_PER_HOUR = 30  # a reporter's; the team is not limited
SOURCES = ("web", "telegram", "api", "github")
# Every comment dcc writes on GitHub carries a "<!-- dcc-…" marker: the webhook of our
# own comment is never mirrored back (no loop).
OWN_MARKER = "<!-- dcc-"


def comment_marker(comment_id: int) -> str:
    return f"<!-- dcc-comment:{comment_id} -->"


def is_team(user: User | None) -> bool:
    """Whether a signed-in person answers for the team on every bug."""
    return user is not None and user.is_active and users.is_admin(user)


@dataclass(frozen=True)
class CommentInput:
    body: str
    internal: bool = False
    attachment: bytes | None = None  # an image (PNG, JPEG, WebP), stored re-encoded
    client_token: str | None = None  # the form's one-time token: a resend returns the first


@dataclass(frozen=True)
class Added:
    comment: BugComment
    repeated: bool = False  # the same token was sent before: this is that comment


async def _bug(
    session: AsyncSession, *, bug_id: int, viewer_id: int | None, team: bool, lock: bool = False
) -> BugLog:
    bug = await session.get(BugLog, bug_id, with_for_update=lock)
    if bug is None or (not team and bug.user_id != viewer_id):
        raise NotFound(lazy("No such bug report"))
    return bug


def _store(settings: Settings, data: bytes) -> str:
    return uploads.store_image(settings, data)


async def _repeat(session: AsyncSession, author_id: int | None, token: str | None) -> Any:
    if not token or author_id is None:
        return None
    return await session.scalar(
        select(BugComment).where(
            BugComment.client_token == token, BugComment.author_id == author_id
        )
    )


def _validate(data: CommentInput, *, team: bool) -> str:
    body = (data.body or "").strip()
    errors: dict[str, str] = {}
    if not body and data.attachment is None:
        errors["body"] = lazy("Write a message or attach an image")
    elif len(body) > COMMENT_MAX:
        errors["body"] = lazy("At most 4,000 characters at a time")
    if data.internal and not team:
        errors["internal"] = lazy("Only the team writes internal notes")
    if errors:
        raise Invalid(lazy("Please correct the marked fields"), fields=errors)
    return body


@contextmanager
def _as_attachment() -> Iterator[None]:
    """An upload refused for a comment names the comment's field, ``attachment``."""
    try:
        yield
    except uploads.UploadInvalid as exc:
        exc.fields = {"attachment": exc.message}
        raise


async def _check_rate(session: AsyncSession, author_id: int) -> None:
    since = utcnow() - timedelta(hours=1)
    count = await session.scalar(
        select(func.count())
        .select_from(BugComment)
        .where(BugComment.author_id == author_id, BugComment.created_at >= since)
    )
    if (count or 0) >= COMMENTS_PER_HOUR:
        raise RateLimited(
            lazy("You have sent %(n)s messages in the last hour. Please wait a little."),
            retry_after=600,
            n=COMMENTS_PER_HOUR,
        )


async def add_comment(
    session: AsyncSession,
    *,
    settings: Settings,
    bug_id: int,
    author_id: int,
    team: bool,
    data: CommentInput,
    source: str,
) -> Added:
    """A comment by the reporter (``team=False``: their own bug only) or the team.

    Refused with Invalid naming the field (empty, too long, an internal note by a
    reporter, an image that is none), RateLimited past ``COMMENTS_PER_HOUR`` for a
    reporter, NotFound for a bug the author may not see; nothing is stored then. A team
    reply reaches the reporter (Telegram, in their language, if they want it); a
    reporter's reply reaches the assignee; every comment but an internal note goes to
    the bug's GitHub issue (now, or when the issue is opened).
    """
    token = (data.client_token or "").strip()[:64] or None
    found = await _repeat(session, author_id, token)
    if found is not None:
        return Added(found, repeated=True)
    body = _validate(data, team=team)
    if data.attachment is not None:
        with _as_attachment():
            uploads.check_size(data.attachment, max_bytes=settings.max_upload_bytes)
    # The bug row is locked: of this comment and the job linking the bug's GitHub issue,
    # whichever commits second sees the other (the comment is posted exactly once).
    bug = await _bug(session, bug_id=bug_id, viewer_id=author_id, team=team, lock=True)
    if not team:
        await _check_rate(session, author_id)
    key = None
    if data.attachment is not None:
        with _as_attachment():
            key = await asyncio.to_thread(_store, settings, data.attachment)
    try:
        # A resend racing the first: the author's row serializes them.
        await session.execute(update(User).where(User.id == author_id).values(id=User.id))
        found = await _repeat(session, author_id, token)
        if found is not None:
            uploads.delete_image(settings, key)
            return Added(found, repeated=True)
        if token and await session.scalar(
            select(BugComment.id).where(BugComment.client_token == token)
        ):
            token = None  # someone else's token: never reveal or reuse their comment
        comment = BugComment(
            bug_id=bug.id,
            author_id=author_id,
            from_team=team,
            internal=bool(data.internal and team),
            body=body,
            source=source if source in SOURCES else "web",
            attachment_key=key,
            client_token=token,
        )
        session.add(comment)
        await session.flush()
    except BaseException:
        uploads.delete_image(settings, key)
        raise
    if key:
        uploads.delete_on_rollback(session, settings, key)
    bug.updated_at = utcnow()
    await _after(session, bug, comment)
    return Added(comment)


async def add_photo_later(
    session: AsyncSession,
    *,
    bug_id: int,
    author: User,
    file_id: str,
    caption: str,
    client_token: str,
) -> None:
    """A photo sent to the bot, to become the sender's comment on the bug once the worker
    has fetched it from Telegram (``telegram.fetch_comment_photo``). Refused now, nothing
    queued, for a bug the sender may not comment on (NotFound) or a caption too long
    (Invalid); the rest (an image that is none, the hourly limit) when it is added."""
    if len(caption.strip()) > COMMENT_MAX:
        raise Invalid(
            lazy("Please correct the marked fields"),
            fields={"body": lazy("At most 4,000 characters at a time")},
        )
    await _bug(session, bug_id=bug_id, viewer_id=author.id, team=is_team(author))
    await outbox.enqueue(
        session,
        messages.FetchCommentPhoto(
            bug_id=bug_id,
            author_id=author.id,
            file_id=file_id,
            caption=caption.strip(),
            client_token=client_token,
        ),
        unique_key=f"{messages.FetchCommentPhoto.kind}:{client_token}",
    )


async def _after(session: AsyncSession, bug: BugLog, comment: BugComment) -> None:
    """Who hears of a new comment, its trip to GitHub, and the bug's weight (a stack
    trace the reporter quotes: ``changelog.weights``)."""
    if comment.internal:
        return
    reporter = comment.author_id is not None and comment.author_id == bug.user_id
    if reporter and traces.quoted(comment.body):
        await outbox.enqueue(session, messages.RescoreImpact(bug_id=bug.id))
    if comment.source != "github" and bug.github_issue_number is not None:
        await _enqueue_post(session, comment.id)
    if comment.from_team:
        recipient: int | None = bug.user_id
    else:
        recipient = bug.assigned_to
    if recipient is not None and recipient != comment.author_id:
        await outbox.enqueue(
            session,
            messages.NotifyUser(
                user_id=recipient, event="bug_comment", bug_id=bug.id, comment_id=comment.id
            ),
            unique_key=f"notify.user:bug_comment:{comment.id}:{recipient}",
        )


async def _enqueue_post(session: AsyncSession, comment_id: int) -> None:
    await outbox.enqueue(
        session,
        messages.PostGithubComment(comment_id=comment_id),
        unique_key=f"{messages.PostGithubComment.kind}:{comment_id}",
    )


async def enqueue_unposted(session: AsyncSession, *, bug_id: int) -> None:
    """The bug's issue was just linked: post the comments written before it existed."""
    ids = await session.scalars(
        select(BugComment.id).where(
            BugComment.bug_id == bug_id,
            BugComment.internal.is_(False),
            BugComment.source != "github",
            BugComment.github_comment_id.is_(None),
        )
    )
    for comment_id in ids:
        await _enqueue_post(session, comment_id)


async def list_comments(
    session: AsyncSession, *, bug_id: int, viewer_id: int | None, team: bool
) -> list[BugComment]:
    """The bug's comments, oldest first; internal notes only for the team."""
    await _bug(session, bug_id=bug_id, viewer_id=viewer_id, team=team)
    stmt = select(BugComment).where(BugComment.bug_id == bug_id)
    if not team:
        stmt = stmt.where(BugComment.internal.is_(False))
    rows = await session.scalars(stmt.order_by(BugComment.created_at, BugComment.id))
    return list(rows)


async def get_comment(
    session: AsyncSession, *, bug_id: int, comment_id: int, viewer_id: int | None, team: bool
) -> BugComment:
    await _bug(session, bug_id=bug_id, viewer_id=viewer_id, team=team)
    comment = await session.get(BugComment, comment_id)
    if comment is None or comment.bug_id != bug_id or (comment.internal and not team):
        raise NotFound(lazy("No such comment"))
    return comment


async def comment_attachment(
    session: AsyncSession,
    settings: Settings,
    *,
    bug_id: int,
    comment_id: int,
    viewer_id: int | None,
    team: bool,
) -> uploads.StoredImage:
    """The image of a comment the viewer may read; NotFound otherwise."""
    comment = await get_comment(
        session, bug_id=bug_id, comment_id=comment_id, viewer_id=viewer_id, team=team
    )
    if not comment.attachment_key:
        raise NotFound(lazy("No such attachment"))
    return uploads.open_image(settings, comment.attachment_key)


# ------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class TimelineItem:
    """One line of a bug's story: ``filed``, a ``status`` change or a ``comment``."""

    kind: str
    at: datetime
    actor_id: int | None = None
    comment: BugComment | None = None
    old: str | None = None
    new: str | None = None
    via: str | None = None


def status_change(entry: AuditLog) -> TimelineItem | None:
    import json

    try:
        details = json.loads(entry.details or "{}")
    except ValueError:
        return None
    change = details.get("status") if isinstance(details, dict) else None
    if not (isinstance(change, list) and len(change) == 2):
        return None
    return TimelineItem(
        kind="status",
        at=entry.created_at,
        actor_id=entry.actor_id,
        old=str(change[0]),
        new=str(change[1]),
        via=str(details.get("via") or "") or None,
    )


async def timeline(
    session: AsyncSession, *, bug_id: int, viewer_id: int | None, team: bool
) -> list[TimelineItem]:
    """The bug's filing, its status changes and its comments, oldest first."""
    bug = await _bug(session, bug_id=bug_id, viewer_id=viewer_id, team=team)
    items = [TimelineItem(kind="filed", at=bug.created_at, actor_id=bug.user_id, via=bug.source)]
    for entry in await auditlog.history(session, entity="bug", entity_id=bug_id):
        if entry.action == "update" and (item := status_change(entry)) is not None:
            items.append(item)
    for comment in await list_comments(session, bug_id=bug_id, viewer_id=viewer_id, team=team):
        items.append(
            TimelineItem(
                kind="comment",
                at=comment.created_at,
                actor_id=comment.author_id,
                comment=comment,
                via=comment.source,
            )
        )
    order = {"filed": 0, "status": 1, "comment": 1}
    items.sort(key=lambda i: (i.at, order[i.kind], i.comment.id if i.comment else 0))
    return items


async def people_names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    """Display names of the people a timeline names."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {int(i): str(n) for i, n in rows}


# ------------------------------------------------------------------------- GitHub


async def record_github_comment(
    session: AsyncSession,
    *,
    bug_id: int,
    github_comment_id: int,
    login: str,
    body: str,
    created_at: datetime | None = None,
) -> BugComment | None:
    """A comment written on the bug's GitHub issue: kept as the team's reply and sent to
    the reporter. None when it is known already (a redelivery, or ours posted there)."""
    known = await session.scalar(
        select(BugComment.id).where(BugComment.github_comment_id == github_comment_id)
    )
    if known is not None or OWN_MARKER in body:
        return None
    bug = await session.get(BugLog, bug_id, with_for_update=True)
    if bug is None:
        return None
    comment = BugComment(
        bug_id=bug.id,
        author_id=None,
        from_team=True,
        internal=False,
        body=body[:GITHUB_COMMENT_MAX],
        source="github",
        github_login=login[:100] or None,
        github_comment_id=github_comment_id,
        # GitHub's time, but never before the bug (a skewed clock would misorder them)
        created_at=max(created_at or utcnow(), bug.created_at),
    )
    session.add(comment)
    await session.flush()
    bug.updated_at = utcnow()
    await _after(session, bug, comment)
    return comment


async def edit_github_comment(session: AsyncSession, *, github_comment_id: int, body: str) -> bool:
    """A mirrored GitHub comment was edited there: the same text here (no new message)."""
    comment = await session.scalar(
        select(BugComment).where(
            BugComment.github_comment_id == github_comment_id, BugComment.source == "github"
        )
    )
    if comment is None:
        return False
    comment.body = body[:GITHUB_COMMENT_MAX]
    comment.updated_at = utcnow()
    return True


async def drop_github_comment(session: AsyncSession, *, github_comment_id: int) -> bool:
    """A mirrored GitHub comment was deleted there: gone here too."""
    comment = await session.scalar(
        select(BugComment).where(
            BugComment.github_comment_id == github_comment_id, BugComment.source == "github"
        )
    )
    if comment is None:
        return False
    await session.delete(comment)
    return True


async def mark_comment_posted(
    session: AsyncSession, *, comment_id: int, github_comment_id: int
) -> None:
    """The comment is on GitHub as ``github_comment_id`` (set once)."""
    comment = await session.get(BugComment, comment_id, with_for_update=True)
    if comment is not None and comment.github_comment_id is None:
        comment.github_comment_id = github_comment_id
