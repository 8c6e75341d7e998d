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
from devops_center.integrations.github.events import IssueData, MalformedEvent, parse_issue
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
from devops_center.support.models import PRIORITIES, BugLog
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
