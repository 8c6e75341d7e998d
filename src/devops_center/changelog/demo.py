"""The demo's changelog: merged pull requests of the demo repository changing this
project's own modules (scored against the demo scan), some closing demo bugs' issues,
most shipped by a demo production deployment (their bugs' fixes are live)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.changelog import service as changelog
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.github.models import PullRequest, PullRequestFile
from devops_center.support.models import BugLog

# title, body, labels, days ago, files (path under src/devops_center, added, deleted),
# closes the issue of a resolved demo bug, the owner's user lines (ru, en)
PULLS: list[tuple[str, str, list[str], int, list[tuple[str, int, int]], bool, tuple[str, str]]] = [
    (
        "feat(support): attach several screenshots to a bug",
        "Reporters can add up to three images.",
        [],
        19,
        [("support/uploads.py", 60, 12), ("web/pages/support_home.py", 14, 3)],
        False,
        ("К багу можно приложить до трёх скриншотов", "Attach up to three screenshots to a bug"),
    ),
    (
        "fix: night shifts were missing from the export",
        "The export query forgot shifts that end after midnight.",
        ["bug", "priority: high"],
        15,
        [("deployments/service.py", 18, 6)],
        True,
        ("Ночные смены снова попадают в выгрузку", "Night shifts are in the export again"),
    ),
    (
        "perf(db): cache the service names of the deployment filters",
        "",
        ["performance"],
        12,
        [("deployments/service.py", 25, 4), ("cache.py", 6, 1)],
        False,
        ("", ""),
    ),
    (
        "fix(bot): the /bug dialog forgot the priority after a photo",
        "Fixes the state of the dialog after a photo message.",
        ["bug"],
        8,
        [("bot/handlers/bug.py", 9, 3), ("dialogs.py", 4, 1)],
        True,
        (
            "Бот больше не забывает приоритет после фото",
            "The bot no longer forgets the priority after a photo",
        ),
    ),
    (
        "refactor: one place for the texts of notifications",
        "",
        [],
        6,
        [("notify/texts.py", 80, 75), ("notify/jobs.py", 10, 12)],
        False,
        ("", ""),
    ),
    (
        "docs: how to connect GitHub",
        "",
        ["documentation"],
        4,
        [("config.py", 2, 0)],
        False,
        ("", ""),
    ),
    (
        "feat: weekly digest in Telegram",
        "Owners can opt in to a Monday summary.",
        [],
        1,
        [("digest/service.py", 95, 10), ("notify/jobs.py", 22, 2), ("db.py", 3, 1)],
        False,
        ("Еженедельная сводка в Telegram", "A weekly digest in Telegram"),
    ),
]


async def populate(session: AsyncSession, *, now: datetime, repo: str, scan_prefix: str) -> int:
    """Store the demo pull requests under ``repo`` and journal them; the ones merged
    before the last successful production deployment go live with the first one after
    their merge. ``scan_prefix``: how the demo scan names this package's files."""
    resolved = list(
        (
            await session.execute(
                select(BugLog)
                .where(BugLog.status == "resolved", BugLog.github_issue_number.is_not(None))
                .order_by(BugLog.id)
            )
        ).scalars()
    )
    written = 0
    for number, (title, body, labels, days, files, closes_bug, lines) in enumerate(PULLS, 41):
        merged = now - timedelta(days=days, hours=3)
        # a fix closes a bug reported before it was merged
        fixed = next((b for b in resolved if b.created_at < merged - timedelta(days=1)), None)
        if closes_bug and fixed is not None:
            resolved.remove(fixed)
        issue = fixed.github_issue_number if closes_bug and fixed is not None else None
        shipped = await _next_success(session, merged)
        sha = hashlib.sha256(f"demo-merge-{number}".encode()).hexdigest()[:40]
        if shipped is not None:  # the deployment after the merge shipped it
            session.add(
                DeploymentCommit(
                    deployment_id=shipped.id,
                    sha=sha,
                    committed_at=merged,
                    message=title,
                    author="olga-dev",
                )
            )
        pull = PullRequest(
            repo=repo,
            number=number,
            title=title,
            body=(f"Fixes #{issue}\n\n{body}" if issue else body) or None,
            author_login="olga-dev",
            state="merged",
            labels=labels,
            closes=[issue] if issue else [],
            merge_commit_sha=sha,
            opened_at=merged - timedelta(days=1),
            merged_at=merged,
            closed_at=merged,
            updated_at=merged,
            additions=sum(a for _p, a, _d in files),
            deletions=sum(d for _p, _a, d in files),
            changed_files=len(files),
            url=f"https://github.com/{repo}/pull/{number}",
        )
        session.add(pull)
        await session.flush()
        session.add_all(
            PullRequestFile(
                pull_request_id=pull.id, path=f"{scan_prefix}{path}", additions=a, deletions=d
            )
            for path, a, d in files
        )
        await session.flush()
        entry = await changelog.from_pull(session, repo=repo, number=number)
        if entry is None:
            continue
        written += 1
        ru, en = lines
        entry.user_line_ru, entry.user_line_en = ru or None, en or None
    await _open_fixes(session, now=now, repo=repo, scan_prefix=scan_prefix)
    return written


# Open pull requests that will fix open demo bugs: the bugs get their impact scores
# (triage sorts by them) and the modules' pages list them.
OPEN_FIXES = [
    ("fix(db): retry a write when SQLite is busy", [("db.py", 12, 3)]),
    ("fix(support): keep the form when an upload fails", [("support/uploads.py", 20, 4)]),
    ("fix(web): the export page times out", [("web/pages/admin_devops.py", 8, 2)]),
]


async def _open_fixes(session: AsyncSession, *, now: datetime, repo: str, scan_prefix: str) -> None:
    open_bugs = list(
        (
            await session.execute(
                select(BugLog)
                .where(BugLog.status == "open", BugLog.github_issue_number.is_not(None))
                .order_by(BugLog.id)
                .limit(len(OPEN_FIXES))
            )
        ).scalars()
    )
    for number, ((title, files), bug) in enumerate(zip(OPEN_FIXES, open_bugs, strict=False), 61):
        pull = PullRequest(
            repo=repo,
            number=number,
            title=title,
            body=f"Fixes #{bug.github_issue_number}",
            author_login="olga-dev",
            state="open",
            labels=["bug"],
            closes=[bug.github_issue_number],
            opened_at=now - timedelta(days=1),
            updated_at=now - timedelta(hours=5),
            url=f"https://github.com/{repo}/pull/{number}",
        )
        session.add(pull)
        await session.flush()
        session.add_all(
            PullRequestFile(
                pull_request_id=pull.id, path=f"{scan_prefix}{path}", additions=a, deletions=d
            )
            for path, a, d in files
        )
        await session.flush()
        await changelog.from_pull(session, repo=repo, number=number)


async def _next_success(session: AsyncSession, after: datetime) -> Deployment | None:
    return await session.scalar(
        select(Deployment)
        .where(
            Deployment.status == "success",
            Deployment.environment == "production",
            Deployment.started_at > after,
        )
        .order_by(Deployment.started_at, Deployment.id)
        .limit(1)
    )
