"""The demo's issue mirror and webhook log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.github import mirror
from devops_center.github.webhooks import SOURCE
from devops_center.integrations.github.events import IssueData
from devops_center.integrations.github.render import labels_for
from devops_center.outbox.models import WebhookDelivery
from devops_center.support.models import BugLog

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
