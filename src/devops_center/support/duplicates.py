"""A bug that repeats another: merged into the original, its reporter follows it.

:func:`merge` closes the duplicate (audited), makes its reporter a follower of the
original (told of each status change of it, ``notify.user`` ``followed_status``), tells
the reporter (``bug_duplicate``) and has the worker close the duplicate's GitHub issue
as a duplicate (``github.close_duplicate``). The support brain finds the candidates
(``brain.duplicates``); the owner decides.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.errors import Invalid
from devops_center.i18n import lazy
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.support import bugs
from devops_center.support.models import BugDuplicate, BugFollower
from devops_center.users import auditlog


async def original_of(session: AsyncSession, bug_id: int) -> int | None:
    """The bug ``bug_id`` was merged into, if any."""
    return await session.scalar(
        select(BugDuplicate.original_id).where(BugDuplicate.bug_id == bug_id)
    )


async def merge(
    session: AsyncSession,
    *,
    bug_id: int,
    original_id: int,
    actor_id: int | None,
    score: float | None = None,
) -> BugDuplicate:
    """Merge bug ``bug_id`` into ``original_id`` (a merged original: into its own)."""
    original_id = await original_of(session, original_id) or original_id
    if original_id == bug_id:
        message = lazy("A bug cannot repeat itself")
        raise Invalid(message, fields={"original": message})
    if await original_of(session, bug_id) is not None:
        message = lazy("This bug is already merged")
        raise Invalid(message, fields={"original": message})
    duplicate = await bugs.get_bug(session, bug_id=bug_id)
    original = await bugs.get_bug(session, bug_id=original_id)
    row = BugDuplicate(bug_id=bug_id, original_id=original_id, score=score, merged_by=actor_id)
    session.add(row)
    # the duplicate's own followers move along with its reporter
    followers = set(
        await session.scalars(select(BugFollower.user_id).where(BugFollower.bug_id == bug_id))
    )
    already = set(
        await session.scalars(select(BugFollower.user_id).where(BugFollower.bug_id == original_id))
    )
    for user_id in (followers | {duplicate.user_id}) - already - {original.user_id}:
        session.add(BugFollower(bug_id=original_id, user_id=user_id))
    await session.flush()
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="bug",
        entity_id=bug_id,
        action="merge",
        details={"original": original_id, "score": score},
    )
    await outbox.enqueue(
        session,
        messages.NotifyUser(
            user_id=duplicate.user_id,
            event="bug_duplicate",
            bug_id=bug_id,
            original_id=original_id,
        ),
        unique_key=f"notify.user:bug_duplicate:{bug_id}",
    )
    await outbox.enqueue(
        session,
        messages.CloseGithubDuplicate(bug_id=bug_id, original_id=original_id),
        unique_key=f"github.close_duplicate:{bug_id}",
    )
    if duplicate.status not in ("resolved", "closed"):
        # closed quietly: the reporter was just told why
        await bugs.update_bug(
            session, bug_id=bug_id, actor_id=actor_id, status="closed", notify=False
        )
    return row


async def followers(session: AsyncSession, bug_id: int) -> list[int]:
    return list(
        await session.scalars(select(BugFollower.user_id).where(BugFollower.bug_id == bug_id))
    )
