"""The changelog journal, written: from stored pull requests, moved to ``deployed`` by
production deployments (reading it: :mod:`devops_center.changelog.queries`; the impact
of a change: :mod:`devops_center.changelog.impact`).

Everything takes the caller's session (and transaction):

* :func:`from_pull` — a pull request whose files are stored: the bugs and GitHub issues
  it closes are scored again (:mod:`devops_center.changelog.weights`); a merged one
  becomes its one entry (a second call, whatever the cause, finds it and writes nothing);
* :func:`deployed` — a successful production deployment: the entries whose merge commit
  it ships become ``deployed``; :func:`went_live` resolves the bugs they fix, records the
  deployment on them and queues "your fix is live" for each reporter, once per bug.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.architecture import service as architecture
from devops_center.changelog import rules, weights
from devops_center.changelog.impact import assess, bugs_closed_by
from devops_center.deployments.models import ChangelogEntry, Deployment, DeploymentCommit
from devops_center.deployments.registration import PRODUCTION
from devops_center.github import pulls
from devops_center.github.models import PullRequest
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.support import bugs as support_bugs
from devops_center.support.models import BugLog
from devops_center.users.models import User

log = logging.getLogger("devops_center.changelog")


# ------------------------------------------------------------------ writing entries


def _priority(labels: list[str], bugs: list[BugLog]) -> str | None:
    found = rules.priority_from_labels(labels)
    if found is None and bugs:
        order = ("critical", "high", "medium", "low")
        found = min((b.priority for b in bugs), key=order.index)
    return found


async def _author(session: AsyncSession, login: str | None) -> int | None:
    if not login:
        return None
    return await session.scalar(
        select(User.id).where(User.github_login == login.strip().lower()).limit(1)
    )


async def from_pull(
    session: AsyncSession, *, repo: str, number: int, rescan: bool = False
) -> ChangelogEntry | None:
    """Score the bugs a stored pull request closes; a merged one becomes its changelog
    entry (created once; returns it, or None when not merged). ``rescan``: queue a scan
    of the repository after a new entry (GitHub is on)."""
    pull = await pulls.get_pull(session, repo=repo, number=number)
    if pull is None:
        return None
    assessment = await assess(session, pull)
    linked = await bugs_closed_by(session, list(pull.closes or []), lock=True)
    # the bugs and issues it closes: the most central change any of their fixes makes
    await weights.rescore(
        session,
        scan_name=pull.repo,
        bug_ids=[b.id for b in linked],
        issues=[(pull.repo, n) for n in pull.closes or []],
    )
    if pull.state != "merged" or not pull.merge_commit_sha:
        return None
    existing = await entry_of_pull(session, pull.id)
    if existing is not None:
        return existing
    values: dict[str, Any] = {
        "date": pull.merged_at or pull.closed_at or pull.updated_at,
        "component": assessment.component,
        "change_type": rules.change_type(pull.title, list(pull.labels or [])),
        "description": rules.description(pull.title, pull.body),
        "priority": _priority(list(pull.labels or []), linked),
        "status": "merged",
        "commit_sha": pull.merge_commit_sha.lower(),
        "github_issue": pull.closes[0] if pull.closes else None,
        "created_by": await _author(session, pull.author_login),
        "impact_score": assessment.impact,
        "indexed_in_brain": False,
        "pull_request_id": pull.id,
        "pull_number": pull.number,
        "url": pull.url,
        "author_login": pull.author_login,
    }
    if values["date"] is None:
        del values["date"]  # the column's default: now
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new_id = (
        await session.execute(
            insert(ChangelogEntry)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["pull_request_id"])
            .returning(ChangelogEntry.id)
        )
    ).scalar_one_or_none()
    entry = await entry_of_pull(session, pull.id)
    assert entry is not None
    if new_id is None:
        return entry  # another worker wrote it first
    await outbox.enqueue(
        session,
        messages.IndexBrainDocument(source="changelog", source_id=entry.id),
        unique_key=f"{messages.IndexBrainDocument.kind}:changelog:{entry.id}:new",
    )
    if rescan:
        await architecture.enqueue_github_scan(session)
    shipped = await first_shipping(session, entry.commit_sha or "")
    if shipped is not None:  # deployed before we learnt of the merge (a late sync)
        await went_live(session, shipped, [entry])
    log.info("changelog entry %s from %s#%s", entry.id, repo, number)
    return entry


async def entry_of_pull(session: AsyncSession, pull_id: int) -> ChangelogEntry | None:
    return await session.scalar(
        select(ChangelogEntry).where(ChangelogEntry.pull_request_id == pull_id)
    )


# --------------------------------------------------------------- deployments, fix live


def _ships(sha: str) -> Any:
    return or_(Deployment.commit_sha == sha, DeploymentCommit.sha == sha)


async def first_shipping(session: AsyncSession, sha: str) -> Deployment | None:
    """The first successful production deployment that shipped commit ``sha``."""
    if not sha:
        return None
    return await session.scalar(
        select(Deployment)
        .outerjoin(DeploymentCommit, DeploymentCommit.deployment_id == Deployment.id)
        .where(
            Deployment.status == "success",
            Deployment.environment == PRODUCTION,
            _ships(sha.lower()),
        )
        .order_by(Deployment.completed_at, Deployment.id)
        .limit(1)
    )


async def shipped_shas(session: AsyncSession, deployment: Deployment) -> set[str]:
    shas = {deployment.commit_sha.lower()}
    rows = await session.scalars(
        select(DeploymentCommit.sha).where(DeploymentCommit.deployment_id == deployment.id)
    )
    shas.update(s.lower() for s in rows)
    return shas


async def deployed(session: AsyncSession, *, deployment_id: int) -> list[ChangelogEntry]:
    """A successful production deployment: its entries become ``deployed`` and the bugs
    they fix go live. Returns the entries it ships."""
    deployment = await session.get(Deployment, deployment_id)
    if deployment is None or deployment.status != "success":
        return []
    if deployment.environment != PRODUCTION:
        return []
    shas = sorted(await shipped_shas(session, deployment))
    entries = list(
        (
            await session.execute(
                select(ChangelogEntry)
                .where(ChangelogEntry.commit_sha.in_(shas))
                .order_by(ChangelogEntry.id)
            )
        ).scalars()
    )
    if entries:
        await went_live(session, deployment, entries)
    return entries


async def went_live(
    session: AsyncSession, deployment: Deployment, entries: list[ChangelogEntry]
) -> None:
    """``entries`` are live with ``deployment``: marked ``deployed`` (the first deployment
    that shipped them stays theirs); each bug whose GitHub issue their pull requests close
    is resolved if it was not, remembers the deployment, and its reporter is told — once
    per bug, whatever deployment comes next."""
    when = deployment.completed_at or deployment.started_at
    issues: set[int] = set()
    for entry in entries:
        if entry.status != "deployed":
            entry.status = "deployed"
            entry.deployment_id = deployment.id
            entry.deployed_at = when
        if entry.github_issue:
            issues.add(entry.github_issue)
        if entry.pull_request_id:
            pull = await session.get(PullRequest, entry.pull_request_id)
            issues.update(pull.closes or [] if pull is not None else [])
    for bug in await bugs_closed_by(session, sorted(issues), lock=True):
        if bug.fix_live_at is not None:
            continue
        bug.fix_deployment_id = deployment.id
        bug.fix_live_at = when
        if bug.status not in ("resolved", "closed"):
            # its own message below says more than "now: Resolved"
            await support_bugs.update_bug(
                session,
                bug_id=bug.id,
                actor_id=None,
                status="resolved",
                source="deployment",
                notify=False,
            )
        await outbox.enqueue(
            session,
            messages.NotifyUser(user_id=bug.user_id, event="fix_live", bug_id=bug.id),
            unique_key=f"notify.fix_live:{bug.id}",
            max_attempts=10,
        )
        log.info("bug %s: fix live with deployment %s", bug.id, deployment.id)
    await session.flush()
