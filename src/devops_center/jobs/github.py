"""The GitHub loop: one issue per bug (exactly once), webhook deliveries, the issue mirror.

Job kinds
  ``github.create_issue`` {bug_id}      — written by ``support.file_bug`` with the bug
  ``github.process_delivery`` {delivery} — written by ``POST /webhooks/github``
  ``github.sync_issues`` {}             — periodic (``DCC_GITHUB_SYNC_MINUTES``), and on demand
  ``github.purge_deliveries`` {}        — periodic retention of ``webhook_deliveries``

Webhook events are dispatched through a registry; another feature plugs in with one line::

    from devops_center.jobs.github import register_event_handler
    register_event_handler("workflow_run", handle_workflow_run)

A handler is ``async def handler(session, event: WebhookEvent)`` (its result is
ignored); it runs inside the job's transaction (together with marking the delivery
processed), may raise ``RetryLater`` / ``PermanentFailure`` and must be safe to run twice.
Deliveries of events without a handler are stored as ``unhandled`` and can be replayed
once one exists.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Feature, Settings
from devops_center.db import utcnow
from devops_center.errors import NotFound
from devops_center.i18n import lazy
from devops_center.integrations.github import mirror
from devops_center.integrations.github.client import (
    GithubClient,
    GithubPermanent,
    GithubRetryable,
)
from devops_center.integrations.github.events import (
    IssueData,
    MalformedEvent,
    parse_issue,
    parse_issues_event,
)
from devops_center.integrations.github.render import (
    BugView,
    issue_body,
    issue_title,
    labels_for,
    marker,
)
from devops_center.jobs.registry import (
    JobContext,
    Periodic,
    PermanentFailure,
    RetryLater,
    job,
    periodic,
)
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job, KeyValue, WebhookDelivery
from devops_center.support import service as support
from devops_center.support.models import PRIORITIES, BugLog
from devops_center.users.models import User

log = logging.getLogger("devops_center.github")

JOB_CREATE_ISSUE = "github.create_issue"
JOB_PROCESS_DELIVERY = "github.process_delivery"
JOB_SYNC_ISSUES = "github.sync_issues"
JOB_PURGE_DELIVERIES = "github.purge_deliveries"
JOB_ADD_SCREENSHOT = "github.add_screenshot"
JOB_KINDS = (
    JOB_CREATE_ISSUE,
    JOB_PROCESS_DELIVERY,
    JOB_SYNC_ISSUES,
    JOB_PURGE_DELIVERIES,
    JOB_ADD_SCREENSHOT,
)

SOURCE = "github"
# Delivery statuses: received (queued) → processed | unhandled | ignored | failed
DELIVERY_KEEP_DAYS = 30
FAILED_DELIVERY_KEEP_DAYS = 90
SEARCH_SLACK = timedelta(minutes=10)  # the issue is never older than its bug (clock skew)
CACHE_TTL = timedelta(hours=12)
INTENT_TTL = timedelta(days=60)
GONE_CHECK_LIMIT = 100  # issues that left the open list, looked up one by one per sync
BACKFILL_AFTER = timedelta(minutes=2)
BACKFILL_LIMIT = 100


# ---------------------------------------------------------------- event registry


@dataclass(frozen=True)
class WebhookEvent:
    """One stored delivery, as a handler sees it."""

    name: str
    action: str | None
    delivery_id: str
    payload: dict[str, Any]
    settings: Settings


EventHandler = Callable[[AsyncSession, WebhookEvent], Awaitable[object]]
EVENT_HANDLERS: dict[str, EventHandler] = {}
# Events answered at the door and never queued.
ANSWERED_AT_DOOR = frozenset({"ping"})


def register_event_handler(event: str, fn: EventHandler) -> EventHandler:
    """Handle deliveries of the GitHub event ``event`` (the ``X-GitHub-Event`` header)."""
    current = EVENT_HANDLERS.get(event)
    if current is not None and current is not fn:
        raise RuntimeError(f"GitHub event {event!r} already has a handler")
    EVENT_HANDLERS[event] = fn
    return fn


def has_event_handler(event: str) -> bool:
    return event in EVENT_HANDLERS


# ------------------------------------------------------------------------ helpers


def _client(settings: Settings) -> GithubClient:
    assert settings.github_token is not None and settings.github_repo is not None
    return GithubClient(
        api_url=settings.github_api_url,
        token=settings.github_token.get_secret_value(),
        repo=settings.github_repo,
        timeout=settings.github_timeout,
    )


def retry_delay(exc: GithubRetryable, attempt: int) -> float:
    """GitHub's own wait when it gave one (plus up to 10 % jitter, so queued jobs don't
    stampede), never less than the worker's exponential backoff for this attempt."""
    from devops_center.jobs.worker import backoff_delay

    backoff = backoff_delay(attempt)
    if exc.retry_after is None:
        return backoff
    asked = exc.retry_after * random.uniform(1.0, 1.1)  # noqa: S311 - jitter, not crypto
    return max(asked, backoff)


def _translate(exc: Exception, attempt: int) -> Exception:
    if isinstance(exc, GithubRetryable):
        return RetryLater(exc.message, delay=retry_delay(exc, attempt))
    if isinstance(exc, GithubPermanent):
        return PermanentFailure(exc.message)
    return exc


PAUSE_KEY = "github:paused-until"


async def _failed(ctx: JobContext, exc: GithubRetryable | GithubPermanent) -> Exception:
    """The job's exception for a GitHub failure. When GitHub named a wait (rate limits,
    Retry-After), every GitHub job pauses until then, not only this one."""
    if isinstance(exc, GithubRetryable) and exc.retry_after:
        until = utcnow() + timedelta(seconds=exc.retry_after)
        ttl = timedelta(seconds=exc.retry_after + 1)
        await _remember(ctx, PAUSE_KEY, until.isoformat(), ttl=ttl)
    return _translate(exc, ctx.attempt)


def _check_pause(value: Any) -> None:
    """RetryLater while GitHub asked us to wait (``value``: the pause's end, ISO 8601)."""
    if not isinstance(value, str):
        return
    try:
        remaining = (datetime.fromisoformat(value) - utcnow()).total_seconds()
    except ValueError:
        return
    if remaining > 0:
        delay = remaining * random.uniform(1.0, 1.1)  # noqa: S311 - jitter, not crypto
        raise RetryLater(f"GitHub asked us to wait until {value} (rate limit)", delay=delay)


def _login_key(settings: Settings) -> str:
    """The cache key of the token's login: changes with the token."""
    token = settings.github_token.get_secret_value() if settings.github_token else ""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"github:login:{settings.github_api_url}:{digest}"


def _same_repo(settings: Settings, repo: str) -> bool:
    return settings.github_repo is None or settings.github_repo.lower() == repo.lower()


async def _kv_many(session: AsyncSession, keys: list[str]) -> dict[str, Any]:
    """The live key-value entries among ``keys`` (one query)."""
    rows = await session.execute(
        select(KeyValue.key, KeyValue.value, KeyValue.expires_at).where(KeyValue.key.in_(keys))
    )
    now = utcnow()
    return {k: v for k, v, expires in rows if expires is None or expires > now}


async def _remember(ctx: JobContext, key: str, value: Any, *, ttl: timedelta = CACHE_TTL) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await outbox.kv_set(session, key=key, value=value, ttl=ttl)


# ------------------------------------------------------------------- issue per bug


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


@job(JOB_CREATE_ISSUE)
async def create_issue(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Open the bug's GitHub issue, exactly once.

    The body carries ``<!-- dcc-bug:<id> -->``. Just before the POST an intent row is
    committed (kept 60 days); a run that finds it searches the issues the token's user
    opened since the bug was filed for the marker first, so a run killed between
    GitHub's answer and our commit adopts the issue instead of making another. (The
    first run of a job skips that listing: nothing can exist yet.)
    """
    settings = ctx.settings
    bug_id = int(payload["bug_id"])
    repo = settings.github_repo or ""
    intent_key = f"github:create-intent:{repo}:{bug_id}"
    login_key = _login_key(settings)
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
        label_keys = {name: f"github:label:{repo}:{name}" for name in labels}
        known = await _kv_many(session, [PAUSE_KEY, intent_key, login_key, *label_keys.values()])
    _check_pause(known.get(PAUSE_KEY))
    try:
        async with _client(settings) as gh:
            login = known.get(login_key)
            if not isinstance(login, str):
                login = await gh.authenticated_login()
                await _remember(ctx, login_key, login)
            for name, key in label_keys.items():
                if key not in known:
                    await _ensure_label(gh, name)
                    await _remember(ctx, key, True)
            found = None
            if intent_key in known:  # an earlier run may have created it: look first
                found = await gh.find_issue_with_marker(
                    creator=login, marker=marker(bug_id), not_before=not_before
                )
            if found is None:
                # Write-ahead: committed before the POST, so any later run searches first.
                await _remember(ctx, intent_key, True, ttl=INTENT_TTL)
                created = await gh.create_issue(
                    title=issue_title(view), body=issue_body(view), labels=labels
                )
            else:
                log.info("bug %s: adopting existing issue #%s", bug_id, found.get("number"))
                created = found
    except (GithubRetryable, GithubPermanent) as exc:
        raise await _failed(ctx, exc) from exc
    try:
        data = parse_issue(created, repo=repo)
    except MalformedEvent as exc:
        raise PermanentFailure(f"GitHub returned an unusable issue: {exc}") from exc
    async with ctx.sessionmaker() as session, session.begin():
        await support.link_github_issue(session, bug_id=bug_id, issue_number=data.number)
        await mirror.upsert_issue(session, data)
        bug = await support.get_bug(session, bug_id=bug_id)
        if bug.github_issue_number == data.number:  # (a webhook may have linked it first)
            await _tell_reporter(session, bug)
            if view.screenshot_url is None:  # the bot's photo arrived while we were at it
                await screenshot_arrived(session, bug)


def screenshot_marker(bug_id: int) -> str:
    return f"<!-- dcc-bug-screenshot:{bug_id} -->"


async def screenshot_arrived(session: AsyncSession, bug: BugLog) -> None:
    """A screenshot was stored after the bug's issue was opened without it (a photo sent
    to the bot is downloaded by the worker, maybe after the issue job ran): add it to the
    issue as a comment. Called with the bug row locked, so that of this and the issue
    job, whichever commits second sees the other's change."""
    if bug.github_issue_number is not None and bug.screenshot_url:
        await outbox.enqueue(
            session,
            kind=JOB_ADD_SCREENSHOT,
            payload={"bug_id": bug.id},
            unique_key=f"{JOB_ADD_SCREENSHOT}:{bug.id}",
        )


@job(JOB_ADD_SCREENSHOT)
async def add_screenshot(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Comment the screenshot's link on the bug's issue, once (the comment carries a
    marker that a repeated run finds first)."""
    settings = ctx.settings
    bug_id = int(payload["bug_id"])
    async with ctx.sessionmaker() as session:
        bug = await session.get(BugLog, bug_id)
        if bug is None or bug.github_issue_number is None or not bug.screenshot_url:
            return
        if not settings.github_enabled().enabled:
            return
        view = await _bug_view(session, settings, bug)
        number = bug.github_issue_number
        known = await _kv_many(session, [PAUSE_KEY])
    _check_pause(known.get(PAUSE_KEY))
    tag = screenshot_marker(bug_id)
    try:
        async with _client(settings) as gh:
            comments = await gh.issue_comments(number)
            if any(tag in str(c.get("body") or "") for c in comments):
                return
            await gh.create_comment(number, body=f"**Screenshot:** {view.screenshot_url}\n\n{tag}")
    except (GithubRetryable, GithubPermanent) as exc:
        raise await _failed(ctx, exc) from exc


async def _tell_reporter(session: AsyncSession, bug: BugLog) -> None:
    """The reporter learns the issue number, once (whichever path linked it)."""
    await outbox.enqueue(
        session,
        kind="notify.user",
        payload={
            "user_id": bug.user_id,
            "event": "bug_github_issue",
            "bug_id": bug.id,
            "issue_number": bug.github_issue_number,
        },
        unique_key=f"notify.user:bug_github_issue:{bug.id}",
    )


async def _ensure_label(gh: GithubClient, name: str) -> None:
    """Create a label if missing. Best effort: a token that may not create labels still
    gets its issue (GitHub drops labels it may not set)."""
    try:
        await gh.ensure_label(name)
    except GithubPermanent as exc:
        log.warning("label %r not ensured: %s", name, exc.message)


# ----------------------------------------------------------------------- webhooks


async def record_delivery(
    session: AsyncSession,
    *,
    delivery_id: str,
    event: str,
    payload: dict[str, Any],
) -> WebhookDelivery | None:
    """Store a verified delivery and queue its processing, in the caller's transaction.

    Returns None for a repeat of a delivery id already stored (no second effect).
    """
    action = payload.get("action")
    if event in ANSWERED_AT_DOOR:
        status = "processed"
    elif has_event_handler(event):
        status = "received"
    else:
        status = "unhandled"
    now = utcnow()
    values = {
        "source": SOURCE,
        "delivery_id": delivery_id[:100],
        "event": event[:50],
        "action": str(action)[:50] if isinstance(action, str) else None,
        "payload": payload,
        "status": status,
        "received_at": now,
        "processed_at": now if status != "received" else None,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(WebhookDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        .returning(WebhookDelivery.id)
    )
    pk = (await session.execute(stmt)).scalar_one_or_none()
    if pk is None:
        return None
    delivery = await session.get(WebhookDelivery, pk)
    assert delivery is not None
    if status == "received":
        await outbox.enqueue(session, kind=JOB_PROCESS_DELIVERY, payload={"delivery": pk})
    return delivery


async def replay_delivery(session: AsyncSession, *, delivery_pk: int) -> WebhookDelivery:
    """Process a stored delivery again (e.g. an ``unhandled`` one once a handler exists)."""
    delivery = await session.get(WebhookDelivery, delivery_pk, with_for_update=True)
    if delivery is None or delivery.source != SOURCE:
        raise NotFound(lazy("No such webhook delivery"))
    delivery.status = "received"
    delivery.error = None
    delivery.processed_at = None
    await outbox.enqueue(session, kind=JOB_PROCESS_DELIVERY, payload={"delivery": delivery.id})
    return delivery


async def replay_unhandled(session: AsyncSession, *, event: str | None = None) -> int:
    """Replay every ``unhandled`` delivery whose event now has a handler. Returns how many."""
    events = [event] if event else list(EVENT_HANDLERS)
    rows = await session.execute(
        select(WebhookDelivery.id).where(
            WebhookDelivery.source == SOURCE,
            WebhookDelivery.status == "unhandled",
            WebhookDelivery.event.in_(events),
        )
    )
    count = 0
    for pk in rows.scalars():
        await replay_delivery(session, delivery_pk=pk)
        count += 1
    return count


async def _note_delivery(
    ctx: JobContext, pk: int, *, error: str, status: str | None = None
) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        delivery = await session.get(WebhookDelivery, pk)
        if delivery is not None:
            delivery.error = error[:4000]
            if status:
                delivery.status = status
                delivery.processed_at = utcnow()


@job(JOB_PROCESS_DELIVERY)
async def process_delivery(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Run the event's handler and mark the delivery processed, in one transaction."""
    pk = int(payload["delivery"])
    try:
        async with ctx.sessionmaker() as session, session.begin():
            delivery = await session.get(WebhookDelivery, pk, with_for_update=True)
            if delivery is None or delivery.status not in ("received", "failed"):
                return  # purged, or already done by an earlier run
            handler = EVENT_HANDLERS.get(delivery.event)
            if handler is None:
                delivery.status = "unhandled"
                delivery.processed_at = utcnow()
                return
            await handler(
                session,
                WebhookEvent(
                    name=delivery.event,
                    action=delivery.action,
                    delivery_id=delivery.delivery_id,
                    payload=dict(delivery.payload or {}),
                    settings=ctx.settings,
                ),
            )
            delivery.status = "processed"
            delivery.error = None
            delivery.processed_at = utcnow()
    except (PermanentFailure, MalformedEvent) as exc:
        await _note_delivery(ctx, pk, error=str(exc), status="failed")
        raise PermanentFailure(str(exc)) from exc
    except Exception as exc:
        await _note_delivery(ctx, pk, error=f"{type(exc).__name__}: {exc}")
        raise


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
    if not _same_repo(settings, issue.repo):
        return None
    bug = await support.bug_for_github_issue(
        session, issue_number=issue.number, marker_bug_id=issue.bug_id
    )
    if bug is None:
        return None
    if bug.github_issue_number is None:
        await support.link_github_issue(session, bug_id=bug.id, issue_number=issue.number)
        await _tell_reporter(session, bug)
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


async def handle_issues(session: AsyncSession, event: WebhookEvent) -> None:
    """``issues``: update the mirror, then the linked bug (a late delivery changes nothing)."""
    parsed = parse_issues_event(event.payload)
    if parsed.action in ("deleted", "transferred"):  # gone from this repository
        await mirror.delete_issue(session, repo=parsed.issue.repo, number=parsed.issue.number)
        return
    result = await mirror.upsert_issue(session, parsed.issue)
    if not result.applied:
        log.info("issue #%s: stale delivery %s ignored", parsed.issue.number, event.delivery_id)
        return
    await apply_issue_to_bug(
        session, event.settings, parsed.issue, action=parsed.action, label=parsed.label
    )


async def handle_issue_comment(session: AsyncSession, event: WebhookEvent) -> None:
    """``issue_comment``: keeps the mirror's copy of the issue fresh (title, labels, state)."""
    raw = event.payload.get("issue")
    repository = event.payload.get("repository") or {}
    if isinstance(raw, dict) and "pull_request" not in raw and isinstance(repository, dict):
        data = parse_issue(raw, repo=str(repository.get("full_name") or ""))
        await mirror.upsert_issue(session, data)


register_event_handler("issues", handle_issues)
register_event_handler("issue_comment", handle_issue_comment)


# --------------------------------------------------------------------- the mirror


def _etag_key(repo: str) -> str:
    return f"github:etag:open-issues:{repo}"


LAST_SYNC_KEY = "github:last-sync"
SYNC_ERROR_KEY = "github:last-sync-error"


@job(JOB_SYNC_ISSUES)
async def sync_issues(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Refresh the mirror of open issues (ETag: an unchanged list is one free 304), look up
    issues that left the list, reconcile linked bugs, and re-queue bugs kept locally."""
    settings = ctx.settings
    if not settings.github_enabled().enabled:
        return
    repo = settings.github_repo or ""
    async with ctx.sessionmaker() as session:
        paused = await outbox.kv_get(session, key=PAUSE_KEY)
        etag = await outbox.kv_get(session, key=_etag_key(repo))
        known_open = await mirror.open_numbers(session, repo=repo)
    try:
        _check_pause(paused)
    except RetryLater:
        return  # GitHub asked for quiet; the next period tries again
    gone: list[tuple[int, dict[str, Any] | None]] = []
    missing: list[int] = []
    try:
        async with _client(settings) as gh:
            page = await gh.list_open_issues(etag=etag if isinstance(etag, str) else None)
            if not page.not_modified:
                listed = {item.get("number") for item in page.issues}
                missing = sorted(known_open - {n for n in listed if isinstance(n, int)})
                for number in missing[:GONE_CHECK_LIMIT]:
                    gone.append((number, await gh.get_issue(number)))
    except (GithubRetryable, GithubPermanent) as exc:
        # Not retried: the next period syncs again. Shown on the admin page instead of
        # piling up a failed job every few minutes while GitHub is down.
        await _failed(ctx, exc)
        await _remember(
            ctx, SYNC_ERROR_KEY, {"at": utcnow().isoformat(), "error": exc.message}, ttl=INTENT_TTL
        )
        log.warning("issue sync failed: %s", exc.message)
        await backfill_local_bugs(ctx)
        return
    async with ctx.sessionmaker() as session, session.begin():
        if not page.not_modified:
            for item in page.issues:
                try:
                    data = parse_issue(item, repo=repo)
                except MalformedEvent as exc:
                    log.warning("sync: skipping a malformed issue: %s", exc)
                    continue
                await _upsert_and_reconcile(session, settings, data)
            for number, found in gone:
                if found is None:
                    await mirror.delete_issue(session, repo=repo, number=number)
                    continue
                await _upsert_and_reconcile(session, settings, parse_issue(found, repo=repo))
            # Only a complete pass may let the next one stop at a 304.
            if page.etag and len(missing) <= GONE_CHECK_LIMIT:
                await outbox.kv_set(session, key=_etag_key(repo), value=page.etag)
        await outbox.kv_set(
            session,
            key=LAST_SYNC_KEY,
            value={"at": utcnow().isoformat(), "not_modified": page.not_modified},
        )
        await outbox.kv_delete(session, key=SYNC_ERROR_KEY)
    await backfill_local_bugs(ctx)


async def _upsert_and_reconcile(session: AsyncSession, settings: Settings, data: IssueData) -> None:
    result = await mirror.upsert_issue(session, data)
    if result.state_changed:
        action = "closed" if data.state == "closed" else "reopened"
        await apply_issue_to_bug(session, settings, data, action=action)


async def backfill_local_bugs(ctx: JobContext) -> int:
    """Queue again the bugs that have no issue because GitHub was off when they were filed."""
    cutoff = utcnow() - BACKFILL_AFTER
    queued = 0
    async with ctx.sessionmaker() as session, session.begin():
        ids = list(
            (
                await session.execute(
                    select(BugLog.id)
                    .where(BugLog.github_issue_number.is_(None), BugLog.created_at < cutoff)
                    .order_by(BugLog.id)
                    .limit(BACKFILL_LIMIT)
                )
            ).scalars()
        )
        if not ids:
            return 0
        keys = {f"{JOB_CREATE_ISSUE}:{bug_id}": bug_id for bug_id in ids}
        jobs = {
            j.unique_key: j
            for j in (
                await session.execute(select(Job).where(Job.unique_key.in_(list(keys))))
            ).scalars()
        }
        for key, bug_id in keys.items():
            existing = jobs.get(key)
            if existing is None:
                await outbox.enqueue(
                    session,
                    kind=JOB_CREATE_ISSUE,
                    payload={"bug_id": bug_id},
                    unique_key=key,
                    max_attempts=50,
                )
            elif existing.status == "done":
                await outbox.retry_job(session, job_id=existing.id)
            else:
                continue  # pending, running, or failed (an admin's call)
            queued += 1
    if queued:
        log.info("re-queued %s bug(s) kept locally for GitHub", queued)
    return queued


@job(JOB_PURGE_DELIVERIES)
async def purge_deliveries(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Retention: deliveries go after 30 days, failed ones after 90."""
    now = utcnow()
    async with ctx.sessionmaker() as session, session.begin():
        await session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.source == SOURCE,
                or_(
                    (WebhookDelivery.status != "failed")
                    & (WebhookDelivery.received_at < now - timedelta(days=DELIVERY_KEEP_DAYS)),
                    WebhookDelivery.received_at < now - timedelta(days=FAILED_DELIVERY_KEEP_DAYS),
                ),
            )
        )


def _sync_key(settings: Settings, now: datetime) -> str:
    minutes = max(1, settings.github_sync_minutes)
    return str(int(now.timestamp() // (minutes * 60)))


periodic(
    Periodic(
        kind=JOB_SYNC_ISSUES,
        key_at=_sync_key,
        enabled=lambda s: s.github_enabled().enabled,
    )
)
periodic(Periodic(kind=JOB_PURGE_DELIVERIES, every=timedelta(hours=6)))


async def request_sync(session: AsyncSession) -> None:
    """An admin asked for a sync now (at most one queued at a time)."""
    pending = await session.scalar(
        select(func.count()).where(
            Job.kind == JOB_SYNC_ISSUES, Job.status.in_(["pending", "running"])
        )
    )
    if not pending:
        await outbox.enqueue(session, kind=JOB_SYNC_ISSUES, max_attempts=3)


# ----------------------------------------------------------------- admin overview


@dataclass
class Overview:
    """What ``/admin/github`` and its dashboard panel show."""

    github: Feature
    webhooks: Feature
    repo: str | None
    counts: mirror.IssueCounts
    newest: list[Any] = field(default_factory=list)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    failed_jobs: list[Job] = field(default_factory=list)
    queued_jobs: int = 0
    bugs_without_issue: int = 0
    last_sync_at: datetime | None = None
    paused_until: datetime | None = None
    sync_error: str | None = None
    sync_error_at: datetime | None = None


async def overview(session: AsyncSession, settings: Settings, *, limit: int = 20) -> Overview:
    repo = settings.github_repo
    counts = await mirror.issue_counts(session, repo=repo)
    newest = await mirror.newest_open(session, repo=repo, limit=5)
    deliveries = list(
        (
            await session.execute(
                select(WebhookDelivery)
                .where(WebhookDelivery.source == SOURCE)
                .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
    failed = list(
        (
            await session.execute(
                select(Job)
                .where(Job.kind.in_(JOB_KINDS), Job.status == "failed")
                .order_by(Job.updated_at.desc(), Job.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
    queued = await session.scalar(
        select(func.count()).where(Job.kind.in_(JOB_KINDS), Job.status.in_(["pending", "running"]))
    )
    without = await session.scalar(select(func.count()).where(BugLog.github_issue_number.is_(None)))
    last = await outbox.kv_get(session, key=LAST_SYNC_KEY)
    error = await outbox.kv_get(session, key=SYNC_ERROR_KEY)
    return Overview(
        github=settings.github_enabled(),
        webhooks=settings.webhooks_enabled(),
        repo=repo,
        counts=counts,
        newest=newest,
        deliveries=deliveries,
        failed_jobs=failed,
        queued_jobs=int(queued or 0),
        bugs_without_issue=int(without or 0),
        last_sync_at=_parse_at(last),
        paused_until=_parse_at({"at": await outbox.kv_get(session, key=PAUSE_KEY)}),
        sync_error=str(error["error"]) if isinstance(error, dict) else None,
        sync_error_at=_parse_at(error),
    )


def _parse_at(value: Any) -> datetime | None:
    if not isinstance(value, dict) or not isinstance(value.get("at"), str):
        return None
    try:
        return datetime.fromisoformat(value["at"])
    except ValueError:
        return None


async def retry_github_job(session: AsyncSession, *, job_id: int) -> Job:
    """The admin's Retry button: only GitHub jobs, from this page."""
    found = await session.get(Job, job_id)
    if found is None or found.kind not in JOB_KINDS:
        raise NotFound(lazy("No such job"))
    if found.kind == JOB_PROCESS_DELIVERY:
        pk = (found.payload or {}).get("delivery")
        delivery = await session.get(WebhookDelivery, pk) if isinstance(pk, int) else None
        if delivery is not None and delivery.status == "failed":
            delivery.status = "received"
    return await outbox.retry_job(session, job_id=job_id)


# ---------------------------------------------------------------------- demo data

DEMO_REPO = "staffprobot/app"


async def demo_data(session: AsyncSession, *, now: datetime) -> None:
    """The demo's issue mirror and webhook log: most demo bugs linked to an issue (state
    matching the bug), a few issues that are not bugs, and some recent deliveries."""
    bugs = list((await session.execute(select(BugLog).order_by(BugLog.id))).scalars())
    number = 100
    for index, bug in enumerate(bugs):
        if index % 5 == 4:
            continue  # some reports are still waiting for GitHub
        number += 1
        bug.github_issue_number = number
        closed = bug.status in ("resolved", "closed")
        await mirror.upsert_issue(
            session,
            IssueData(
                repo=DEMO_REPO,
                number=number,
                title=f"[Bug #{bug.id}] {bug.title}"[:500],
                state="closed" if closed else "open",
                labels=labels_for(bug.priority),
                assignee="olga-dev" if bug.status == "in_progress" else None,
                url=f"https://github.com/{DEMO_REPO}/issues/{number}",
                body=None,
                created_at=bug.created_at,
                updated_at=bug.resolved_at or bug.created_at,
                closed_at=bug.resolved_at if closed else None,
                bug_id=bug.id,
            ),
        )
    for offset, (title, labels) in enumerate(
        [
            ("Upgrade to Python 3.12", ["enhancement"]),
            ("Document the shift export", ["documentation"]),
            ("Flaky test in schedule sync", ["ci", "priority:high"]),
        ]
    ):
        number += 1
        await mirror.upsert_issue(
            session,
            IssueData(
                repo=DEMO_REPO,
                number=number,
                title=title,
                state="open",
                labels=labels,
                assignee=None,
                url=f"https://github.com/{DEMO_REPO}/issues/{number}",
                body=None,
                created_at=now - timedelta(days=3 + offset),
                updated_at=now - timedelta(days=1),
                closed_at=None,
                bug_id=None,
            ),
        )
    for minutes, event, action, status in [
        (5, "issues", "closed", "processed"),
        (42, "issue_comment", "created", "processed"),
        (90, "push", None, "unhandled"),
        (180, "issues", "labeled", "processed"),
        (240, "ping", None, "processed"),
    ]:
        at = now - timedelta(minutes=minutes)
        session.add(
            WebhookDelivery(
                source=SOURCE,
                delivery_id=f"demo-{minutes:04d}-{event}",
                event=event,
                action=action,
                payload={"action": action} if action else {},
                status=status,
                received_at=at,
                processed_at=at,
            )
        )
    await session.flush()
