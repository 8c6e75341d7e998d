"""A bug and its GitHub issue: the issue opened exactly once, the late screenshot added
as a comment, and what a change of the issue means for the bug."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import cache
from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.github import gateway, mirror
from devops_center.github.models import GithubIssueRequest
from devops_center.integrations.github.client import (
    GithubClient,
    GithubPermanent,
    GithubRetryable,
)
from devops_center.integrations.github.events import (
    CommentEvent,
    IssueData,
    MalformedEvent,
    parse_issue,
)
from devops_center.integrations.github.render import (
    BugView,
    issue_body,
    issue_title,
    labels_for,
    marker,
)
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.registry import JobContext, PermanentFailure
from devops_center.support import service as support
from devops_center.support.comments import OWN_MARKER, comment_marker
from devops_center.support.models import PRIORITIES, BugComment, BugLog
from devops_center.users.models import User

log = logging.getLogger("devops_center.github")

SEARCH_SLACK = timedelta(minutes=10)  # the issue is never older than its bug (clock skew)


async def _bug_view(session: AsyncSession, settings: Settings, bug: BugLog) -> BugView:
    reporter = await session.get(User, bug.user_id)
    base = settings.base_url
    screenshot = bug.screenshot_url
    if screenshot and screenshot.startswith("/"):
        screenshot = base + screenshot
    return BugView(
        id=bug.id,
        title=bug.title,
        what_doing=bug.what_doing,
        expected=bug.expected,
        actual=bug.actual,
        priority=bug.priority,
        reporter=reporter.name if reporter is not None else "—",
        bug_url=f"{base}/support/bugs/{bug.id}",
        screenshot_url=screenshot,
    )


async def _write_ahead(ctx: JobContext, bug_id: int, repo: str) -> None:
    """Committed before the POST, so any later run searches GitHub first."""
    async with ctx.sessionmaker() as session, session.begin():
        row = await session.get(GithubIssueRequest, bug_id)
        if row is None:
            session.add(GithubIssueRequest(bug_id=bug_id, repo=repo, requested_at=utcnow()))
        else:
            row.repo, row.requested_at = repo, utcnow()


async def create_issue(ctx: JobContext, bug_id: int) -> None:
    """Open the bug's GitHub issue, exactly once.

    The body carries ``<!-- dcc-bug:<id> -->``. Just before the POST a request row is
    committed; a run that finds it searches the issues the token's user opened since the
    bug was filed for the marker first, so a run killed between GitHub's answer and our
    commit adopts the issue instead of making another. (The first run of a job skips
    that listing: nothing can exist yet.)
    """
    settings = ctx.settings
    repo = gateway.repo_of(settings)
    login_key = gateway.login_key(settings)
    async with ctx.sessionmaker() as session:
        bug = await session.get(BugLog, bug_id)
        if bug is None or bug.github_issue_number is not None:
            return  # deleted, or done by an earlier run
        if not settings.github_enabled().enabled:
            # Kept locally; the sync job re-queues it once GitHub is configured.
            log.info("bug %s kept locally: %s", bug_id, settings.github_enabled().why)
            return
        view = await _bug_view(session, settings, bug)
        not_before = bug.created_at - SEARCH_SLACK
        labels = labels_for(view.priority)
        label_keys = {name: gateway.label_key(repo, name) for name in labels}
        known = await cache.get_many(session, [login_key, *label_keys.values()])
        request = await session.get(GithubIssueRequest, bug_id)
        requested_before = request is not None and request.repo == repo
        paused_until = await gateway.paused_until(session, settings)
    gateway.check_pause(paused_until)
    try:
        async with gateway.client(settings) as gh:
            login = known.get(login_key)
            if not isinstance(login, str):
                login = await gh.authenticated_login()
                await gateway.remember(ctx, login_key, login)
            for name, key in label_keys.items():
                if key not in known:
                    await _ensure_label(gh, name)
                    await gateway.remember(ctx, key, True)
            found = None
            if requested_before:  # an earlier run may have created it: look first
                found = await gh.find_issue_with_marker(
                    creator=login, marker=marker(bug_id), not_before=not_before
                )
            if found is None:
                await _write_ahead(ctx, bug_id, repo)
                created = await gh.create_issue(
                    title=issue_title(view), body=issue_body(view), labels=labels
                )
            else:
                log.info("bug %s: adopting existing issue #%s", bug_id, found.get("number"))
                created = found
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc
    try:
        data = parse_issue(created, repo=repo)
    except MalformedEvent as exc:
        raise PermanentFailure(f"GitHub returned an unusable issue: {exc}") from exc
    async with ctx.sessionmaker() as session, session.begin():
        await support.link_github_issue(session, bug_id=bug_id, issue_number=data.number)
        await mirror.upsert_issue(session, data)
        bug = await support.get_bug(session, bug_id=bug_id)
        if bug.github_issue_number == data.number:  # (a webhook may have linked it first)
            await tell_reporter(session, bug)
            if view.screenshot_url is None:  # the bot's photo arrived while we were at it
                await support.screenshot_stored(session, bug)


def screenshot_marker(bug_id: int) -> str:
    return f"<!-- dcc-bug-screenshot:{bug_id} -->"


async def add_screenshot(ctx: JobContext, bug_id: int) -> None:
    """Comment the screenshot's link on the bug's issue, once (the comment carries a
    marker that a repeated run finds first)."""
    settings = ctx.settings
    async with ctx.sessionmaker() as session:
        bug = await session.get(BugLog, bug_id)
        if bug is None or bug.github_issue_number is None or not bug.screenshot_url:
            return
        if not settings.github_enabled().enabled:
            return
        view = await _bug_view(session, settings, bug)
        number = bug.github_issue_number
        paused_until = await gateway.paused_until(session, settings)
    gateway.check_pause(paused_until)
    tag = screenshot_marker(bug_id)
    try:
        async with gateway.client(settings) as gh:
            comments = await gh.issue_comments(number)
            if any(tag in str(c.get("body") or "") for c in comments):
                return
            await gh.create_comment(number, body=f"**Screenshot:** {view.screenshot_url}\n\n{tag}")
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc


def duplicate_marker(bug_id: int) -> str:
    return f"<!-- dcc-duplicate:{bug_id} -->"


async def close_as_duplicate(ctx: JobContext, bug_id: int, original_id: int) -> None:
    """Close a merged bug's issue as a duplicate, with a "Duplicate of #N" comment (the
    comment's marker makes a repeated run skip it). Nothing to do without an issue."""
    settings = ctx.settings
    async with ctx.sessionmaker() as session:
        bug = await session.get(BugLog, bug_id)
        original = await session.get(BugLog, original_id)
        if bug is None or bug.github_issue_number is None:
            return
        if not settings.github_enabled().enabled:
            return
        number = bug.github_issue_number
        target = original.github_issue_number if original is not None else None
        paused_until = await gateway.paused_until(session, settings)
    gateway.check_pause(paused_until)
    tag = duplicate_marker(bug_id)
    what = f"Duplicate of #{target}" if target else f"Duplicate of bug {original_id}"
    try:
        async with gateway.client(settings) as gh:
            comments = await gh.issue_comments(number)
            if not any(tag in str(c.get("body") or "") for c in comments):
                await gh.create_comment(number, body=f"{what}\n\n{tag}")
            await gh.close_issue(number, reason="duplicate")
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc


def reporter_closed_marker(bug_id: int) -> str:
    return f"<!-- dcc-reporter-closed:{bug_id} -->"


async def close_for_reporter(ctx: JobContext, bug_id: int) -> None:
    """The reporter closed their bug: close its issue, with a comment saying so (its
    marker makes a repeated run skip it). Nothing to do without an issue, with GitHub
    off, or when the bug was reopened meanwhile."""
    settings = ctx.settings
    async with ctx.sessionmaker() as session:
        bug = await session.get(BugLog, bug_id)
        if bug is None or bug.github_issue_number is None or bug.status != "closed":
            return
        if not settings.github_enabled().enabled:
            return
        number = bug.github_issue_number
        paused_until = await gateway.paused_until(session, settings)
    gateway.check_pause(paused_until)
    tag = reporter_closed_marker(bug_id)
    try:
        async with gateway.client(settings) as gh:
            comments = await gh.issue_comments(number)
            if not any(tag in str(c.get("body") or "") for c in comments):
                note = "The reporter closed this bug in dcc (solved, or no longer needed)."
                await gh.create_comment(number, body=f"{note}\n\n{tag}")
            closed = await gh.close_issue(number, reason="completed")
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc
    try:
        data = parse_issue(closed, repo=gateway.repo_of(settings))
    except MalformedEvent:
        return  # closed there; the mirror catches up with the webhook or the sync
    async with ctx.sessionmaker() as session, session.begin():
        await mirror.upsert_issue(session, data)


async def tell_reporter(session: AsyncSession, bug: BugLog) -> None:
    """The reporter learns the issue number, once (whichever path linked it)."""
    await outbox.enqueue(
        session,
        messages.NotifyUser(
            user_id=bug.user_id,
            event="bug_github_issue",
            bug_id=bug.id,
            issue_number=bug.github_issue_number,
        ),
        unique_key=f"notify.user:bug_github_issue:{bug.id}",
    )


async def _ensure_label(gh: GithubClient, name: str) -> None:
    """Create a label if missing. Best effort: a token that may not create labels still
    gets its issue (GitHub drops labels it may not set)."""
    try:
        await gh.ensure_label(name)
    except GithubPermanent as exc:
        log.warning("label %r not ensured: %s", name, exc.message)


async def apply_issue_to_bug(
    session: AsyncSession,
    settings: Settings,
    issue: IssueData,
    *,
    action: str,
    label: str | None = None,
) -> BugLog | None:
    """What a GitHub issue change means for its linked bug (webhook or sync).

    closed → resolved; reopened → open; assigned → in progress (from open);
    a ``priority:<p>`` label → that priority. Returns the bug, or None if none is linked.
    """
    if not gateway.same_repo(settings, issue.repo):
        return None
    bug = await support.bug_for_github_issue(
        session, issue_number=issue.number, marker_bug_id=issue.bug_id
    )
    if bug is None:
        return None
    if bug.github_issue_number is None:
        await support.link_github_issue(session, bug_id=bug.id, issue_number=issue.number)
        await tell_reporter(session, bug)
    status: str | None = None
    priority: str | None = None
    if action == "closed" and bug.status in ("open", "in_progress"):
        status = "resolved"
    elif action == "reopened" and bug.status in ("resolved", "closed"):
        status = "open"
    elif action == "assigned" and bug.status == "open":
        status = "in_progress"
    elif action == "labeled" and label and label.lower().startswith("priority:"):
        priority = label.split(":", 1)[1].strip().lower()
    elif action == "unlabeled" and label and label.lower().startswith("priority:"):
        priority = issue.priority  # the priority label that remains, if any
    if priority not in PRIORITIES:
        priority = None
    if status is None and priority is None:
        return bug
    return await support.update_bug(
        session, bug_id=bug.id, actor_id=None, status=status, priority=priority, source="github"
    )


# ------------------------------------------------------------------ the conversation


async def apply_comment_to_bug(
    session: AsyncSession, settings: Settings, event: CommentEvent
) -> BugComment | None:
    """A comment on a bug's issue, in the bug's conversation: a person's new comment is
    the team's reply (the reporter hears of it); an edit or a deletion there is one here.
    Our own comments (marked) and bots' are never taken back in."""
    if not gateway.same_repo(settings, event.repo):
        return None
    if event.action == "edited":
        await support.edit_github_comment(
            session, github_comment_id=event.comment_id, body=event.body
        )
        return None
    if event.action == "deleted":
        await support.drop_github_comment(session, github_comment_id=event.comment_id)
        return None
    if event.action != "created" or event.by_bot or OWN_MARKER in event.body:
        return None
    if not event.body.strip():
        return None
    bug = await support.bug_for_github_issue(
        session, issue_number=event.issue_number, marker_bug_id=event.issue_bug_id
    )
    if bug is None:
        return None
    return await support.record_github_comment(
        session,
        bug_id=bug.id,
        github_comment_id=event.comment_id,
        login=event.login,
        body=event.body,
        created_at=event.created_at,
    )


async def _comment_view(
    session: AsyncSession, settings: Settings, comment_id: int
) -> tuple[int, str] | None:
    """The issue number and the GitHub text of a comment still to post, or None."""
    comment = await session.get(BugComment, comment_id)
    if comment is None or comment.internal or comment.source == "github":
        return None
    if comment.github_comment_id is not None:
        return None  # posted already
    bug = await session.get(BugLog, comment.bug_id)
    if bug is None or bug.github_issue_number is None:
        return None  # posted when the issue is linked (support.enqueue_unposted)
    author = await session.get(User, comment.author_id) if comment.author_id else None
    name = author.name if author is not None else "—"
    role = "team" if comment.from_team else "reporter"
    lines = [f"**{name}** ({role}) wrote in dcc:", ""]
    if comment.body:
        lines += [comment.body, ""]
    if comment.attachment_key:
        url = f"{settings.base_url}/support/bugs/{bug.id}/comments/{comment.id}/attachment"
        lines += [f"**Image:** {url}", ""]
    lines.append(comment_marker(comment.id))
    return bug.github_issue_number, "\n".join(lines)


async def post_comment(ctx: JobContext, comment_id: int) -> None:
    """Post a dcc comment on its bug's issue, exactly once: the comment carries a marker
    that a repeated run (a crash after GitHub's answer) finds first, and keeps the id
    GitHub gave it. Nothing to do for an internal note, a mirrored one, or with GitHub
    off."""
    settings = ctx.settings
    if not settings.github_enabled().enabled:
        return
    async with ctx.sessionmaker() as session:
        view = await _comment_view(session, settings, comment_id)
        if view is None:
            return
        paused_until = await gateway.paused_until(session, settings)
    gateway.check_pause(paused_until)
    number, body = view
    tag = comment_marker(comment_id)
    try:
        async with gateway.client(settings) as gh:
            found = [c for c in await gh.issue_comments(number) if tag in str(c.get("body") or "")]
            posted = found[0] if found else await gh.create_comment(number, body=body)
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc
    github_id = posted.get("id")
    if isinstance(github_id, int) and not isinstance(github_id, bool):
        async with ctx.sessionmaker() as session, session.begin():
            await support.mark_comment_posted(
                session, comment_id=comment_id, github_comment_id=github_id
            )
