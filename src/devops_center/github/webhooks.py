"""GitHub webhook deliveries: stored once, processed by the event's registered handler.

Another feature plugs in with one line::

    from devops_center.github.webhooks import register_event_handler
    register_event_handler("workflow_run", handle_workflow_run)

A handler is ``async def handler(session, event: WebhookEvent)`` (its result is
ignored); it runs inside the job's transaction (together with marking the delivery
processed), may raise ``RetryLater`` / ``PermanentFailure`` and must be safe to run twice.
Deliveries of events without a handler are stored as ``unhandled`` and can be replayed
once one exists.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments import service as deployments
from devops_center.errors import NotFound
from devops_center.github import mirror, pulls
from devops_center.github.issues import apply_comment_to_bug, apply_issue_to_bug
from devops_center.i18n import lazy
from devops_center.integrations.github.events import (
    MalformedEvent,
    parse_comment_event,
    parse_issue,
    parse_issues_event,
)
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import WebhookDelivery
from devops_center.outbox.registry import JobContext, PermanentFailure

log = logging.getLogger("devops_center.github")

SOURCE = "github"
# Delivery statuses: received (queued) → processed | unhandled | ignored | failed
DELIVERY_KEEP_DAYS = 30
FAILED_DELIVERY_KEEP_DAYS = 90


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


async def record_delivery(
    session: AsyncSession,
    *,
    delivery_id: str,
    event: str,
    payload: dict[str, Any],
) -> WebhookDelivery | None:
    """Store a verified delivery and queue its processing, in the caller's transaction.

    Returns None for a repeat (no second effect): a delivery id already stored, or the
    same event with the same content under another id. Whether
    an event has a handler is decided by the worker, which loads every feature's handlers
    (a web process need not know them): one without is marked ``unhandled`` there.
    """
    action = payload.get("action")
    status = "processed" if event in ANSWERED_AT_DOOR else "received"
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{event}\n{canonical}".encode()).hexdigest()
    now = utcnow()
    values = {
        "source": SOURCE,
        "delivery_id": delivery_id[:100],
        "content_hash": None if event in ANSWERED_AT_DOOR else digest,
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
        .on_conflict_do_nothing()  # the same delivery id, or the same content
        .returning(WebhookDelivery.id)
    )
    pk = (await session.execute(stmt)).scalar_one_or_none()
    if pk is None:
        return None
    delivery = await session.get(WebhookDelivery, pk)
    assert delivery is not None
    if status == "received":
        await outbox.enqueue(session, messages.ProcessGithubDelivery(delivery=pk))
    return delivery


async def replay_delivery(session: AsyncSession, *, delivery_pk: int) -> WebhookDelivery:
    """Process a stored delivery again (e.g. an ``unhandled`` one once a handler exists)."""
    delivery = await session.get(WebhookDelivery, delivery_pk, with_for_update=True)
    if delivery is None or delivery.source != SOURCE:
        raise NotFound(lazy("No such webhook delivery"))
    delivery.status = "received"
    delivery.error = None
    delivery.processed_at = None
    await outbox.enqueue(session, messages.ProcessGithubDelivery(delivery=delivery.id))
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


async def process_delivery(ctx: JobContext, pk: int) -> None:
    """Run the event's handler and mark the delivery processed, in one transaction."""
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
    """``issue_comment``: keeps the mirror's copy of the issue fresh (title, labels, state)
    and carries a person's comment on a bug's issue into the bug's conversation."""
    raw = event.payload.get("issue")
    repository = event.payload.get("repository") or {}
    if isinstance(raw, dict) and "pull_request" not in raw and isinstance(repository, dict):
        data = parse_issue(raw, repo=str(repository.get("full_name") or ""))
        await mirror.upsert_issue(session, data)
    parsed = parse_comment_event(event.payload)
    if parsed is not None:
        await apply_comment_to_bug(session, event.settings, parsed)


async def handle_workflow_run(session: AsyncSession, event: WebhookEvent) -> None:
    """``workflow_run`` of the deploy workflow → a deployment (the CI step's own row)."""
    await deployments.record_from_workflow_run(session, event.payload, settings=event.settings)


async def handle_deployment_status(session: AsyncSession, event: WebhookEvent) -> None:
    await deployments.record_from_deployment_status(session, event.payload, settings=event.settings)


async def handle_pull_request(session: AsyncSession, event: WebhookEvent) -> None:
    """``pull_request``: the pull request's row (a late delivery changes nothing)."""
    await pulls.handle_pull_request(session, event.settings, event.payload)


async def handle_pull_request_review(session: AsyncSession, event: WebhookEvent) -> None:
    """``pull_request_review``: its first review and approval times."""
    await pulls.handle_review(session, event.settings, event.payload)


register_event_handler("issues", handle_issues)
register_event_handler("pull_request", handle_pull_request)
register_event_handler("pull_request_review", handle_pull_request_review)
register_event_handler("issue_comment", handle_issue_comment)
register_event_handler("workflow_run", handle_workflow_run)
register_event_handler("deployment_status", handle_deployment_status)


async def purge_deliveries(ctx: JobContext) -> None:
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
