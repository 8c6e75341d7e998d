"""The demo's issue mirror and webhook log."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.github import mirror
from devops_center.github.models import PullRequest
from devops_center.github.webhooks import SOURCE
from devops_center.integrations.github.events import IssueData
from devops_center.integrations.github.render import labels_for
from devops_center.outbox.models import WebhookDelivery
from devops_center.support.models import BugLog

DEMO_REPO = "staffprobot/app"
# A stack trace quoted in a demo issue: its frames weigh the issue (changelog.weights).
FLAKY_TRACE = """The schedule sync test fails one run in ten on CI:

```
Traceback (most recent call last):
  File "/home/runner/work/app/src/devops_center/worker.py", line 341, in drain
    await run_one(ctx, job)
  File "/home/runner/work/app/src/devops_center/outbox/service.py", line 59, in enqueue
    job_id = (await session.execute(stmt)).scalar_one_or_none()
  File "/home/runner/work/app/src/devops_center/db.py", line 120, in execute
sqlalchemy.exc.OperationalError: database is locked
```
"""


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
    for offset, (title, labels, body) in enumerate(
        [
            ("Upgrade to Python 3.12", ["enhancement"], None),
            ("Document the shift export", ["documentation"], None),
            ("Flaky test in schedule sync", ["ci", "priority:high"], FLAKY_TRACE),
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
                body=body,
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
    await demo_pulls(session, now=now)


async def demo_pulls(session: AsyncSession, *, now: datetime, seed: int = 7) -> None:
    """Merged pull requests behind the demo's recent production deployments (their head
    commits are the merge commits), so that the lead time's stages have something to
    show: a day or two of coding, pickup from minutes to a day, review of hours."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not crypto
    stmt = (
        select(Deployment.commit_sha, Deployment.service, DeploymentCommit.committed_at)
        .join(
            DeploymentCommit,
            (DeploymentCommit.deployment_id == Deployment.id)
            & (DeploymentCommit.sha == Deployment.commit_sha),
        )
        .where(
            Deployment.status == "success",
            Deployment.environment == "production",
            Deployment.started_at >= now - timedelta(days=45),
        )
        .order_by(Deployment.started_at)
    )
    seen: set[str] = set()
    number = 400
    for sha, service, committed in await session.execute(stmt):
        if sha in seen:
            continue
        seen.add(sha)
        number += 1
        merged = committed
        opened = merged - timedelta(hours=rng.uniform(3, 40))
        review = opened + (merged - opened) * rng.uniform(0.05, 0.7)
        first_commit = opened - timedelta(hours=rng.uniform(0.5, 60))
        title = rng.choice(TITLES)
        session.add(
            PullRequest(
                repo=DEMO_REPO,
                number=number,
                title=f"{service}: {title}"[:500],
                author_login=rng.choice(["olga-dev", "ivan-dev", "maria-qa", "petr-ops"]),
                state="merged",
                base_ref="main",
                head_ref=f"feature/{number}",
                merge_commit_sha=sha,
                additions=rng.randint(5, 900),
                deletions=rng.randint(0, 300),
                changed_files=rng.randint(1, 30),
                labels=[],
                closes=[],
                url=f"https://github.com/{DEMO_REPO}/pull/{number}",
                opened_at=opened,
                first_commit_at=first_commit,
                first_review_at=review if number % 9 else None,
                approved_at=review if number % 9 else None,
                merged_at=merged,
                closed_at=merged,
                updated_at=merged,
            )
        )
    await session.flush()


TITLES = [
    "Faster shift export",
    "Fix time zone of the schedule",
    "Retry the payment webhook",
    "New onboarding screen",
    "Cache the staff list",
    "Upgrade the ORM",
]
