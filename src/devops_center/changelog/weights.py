"""Task weights from links: open bugs and GitHub issues get an impact score from the
modules their linked pull requests or quoted stack traces touch (the same formula as a
change, :func:`devops_center.changelog.rules.impact`; docs/architecture.md, "Task weights
from links").

* a pull request that closes the item ("Fixes #12"), open or merged, scores what its
  changed files touch;
* the Python tracebacks the item quotes (a bug's three fields and its reporter's
  comments; an issue's body) score the modules of their frames, each distinct frame
  one "changed line";
* the item's score is the highest of these (a pull request or a trace that touches no
  module of the scan counts 0; with neither the score is empty), and without an
  architecture scan nothing is written.

Recomputed (never merely raised) by ``changelog.rescore`` jobs: for a bug filed, added
to or commented on by its reporter, or linked to its issue; for an issue mirrored new or
with a new body; for every open bug and issue after a new scan; and by ``from_pull`` for
the bugs and issues a pull request closes once its files are stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import traces
from devops_center.architecture.models import ArchModule, ArchScan
from devops_center.changelog import rules
from devops_center.changelog.impact import match, scan_for
from devops_center.github import pulls
from devops_center.github.models import GithubIssue
from devops_center.support.models import BugComment, BugLog

OPEN_BUGS = ("open", "in_progress")


@dataclass
class Scorer:
    """Scores against one scan, read once: its modules by path, each pull request's
    score computed once per run."""

    session: AsyncSession
    scan: ArchScan
    modules: dict[str, ArchModule]
    pulls: dict[int, float] = field(default_factory=dict)

    @classmethod
    async def of(cls, session: AsyncSession, name: str | None) -> Scorer | None:
        scan = await scan_for(session, name)
        if scan is None:
            return None
        rows = await session.scalars(select(ArchModule).where(ArchModule.scan_id == scan.id))
        return cls(session, scan, {m.path: m for m in rows})

    async def pull(self, pull_id: int) -> float:
        if pull_id not in self.pulls:
            stored = await pulls.files_of(self.session, pull_id)
            files = [(f.path, f.additions + f.deletions) for f in stored]
            self.pulls[pull_id] = rules.impact(match(self.modules, files))
        return self.pulls[pull_id]

    def trace(self, *texts: str | None) -> float | None:
        """The score of the stack traces in ``texts``; None when they quote none."""
        found = traces.files("\n".join(t for t in texts if t))
        if not found:
            return None
        return rules.impact(match(self.modules, found, traces.candidates))

    async def score(self, pull_ids: Iterable[int], *texts: str | None) -> float | None:
        """The highest score of the pull requests ``pull_ids`` and of the stack traces
        in ``texts``; None when there are neither."""
        scores = [await self.pull(p) for p in sorted(set(pull_ids))]
        trace = self.trace(*texts)
        if trace is not None:
            scores.append(trace)
        return max(scores, default=None)


async def closing_pulls(
    session: AsyncSession, *, repo: str | None = None, numbers: Sequence[int] | None = None
) -> dict[int, list[int]]:
    """Issue number → the ids of the open or merged pull requests that close it (of
    ``repo`` when given; only ``numbers`` when given)."""
    if numbers is not None and not numbers:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            "SELECT p.id, CAST(c.value AS INTEGER) AS issue FROM pull_requests p, "
            "json_array_elements_text(p.closes) AS c(value) "
            "WHERE json_typeof(p.closes) = 'array' AND p.state <> 'closed'"
        )
        number = "CAST(c.value AS INTEGER)"
    else:
        sql = (
            "SELECT p.id, c.value AS issue FROM pull_requests p, json_each(p.closes) AS c "
            "WHERE p.state <> 'closed'"
        )
        number = "c.value"
    params: dict[str, object] = {}
    if repo:
        sql += " AND p.repo = :repo"
        params["repo"] = repo
    stmt = text(sql)
    if numbers is not None:
        stmt = text(sql + f" AND {number} IN :numbers").bindparams(
            bindparam("numbers", expanding=True)
        )
        params["numbers"] = sorted({int(n) for n in numbers})
    out: dict[int, list[int]] = {}
    for pull_id, issue in await session.execute(stmt, params):
        out.setdefault(int(issue), []).append(int(pull_id))
    return out


async def _reporter_comments(session: AsyncSession, bug_ids: list[int]) -> dict[int, list[str]]:
    if not bug_ids:
        return {}
    rows = await session.execute(
        select(BugComment.bug_id, BugComment.body)
        .join(BugLog, BugLog.id == BugComment.bug_id)
        .where(
            BugComment.bug_id.in_(bug_ids),
            BugComment.author_id == BugLog.user_id,
            BugComment.internal.is_(False),
        )
        .order_by(BugComment.bug_id, BugComment.id)
    )
    out: dict[int, list[str]] = {}
    for bug_id, body in rows:
        out.setdefault(int(bug_id), []).append(body or "")
    return out


async def rescore_bugs(scorer: Scorer, bugs: list[BugLog]) -> int:
    """Score ``bugs``; returns how many changed."""
    session = scorer.session
    numbers = [b.github_issue_number for b in bugs if b.github_issue_number]
    closing = await closing_pulls(session, numbers=numbers)
    comments = await _reporter_comments(session, [b.id for b in bugs])
    changed = 0
    for bug in bugs:
        linked = closing.get(bug.github_issue_number or 0, [])
        score = await scorer.score(
            linked, bug.what_doing, bug.expected, bug.actual, *comments.get(bug.id, [])
        )
        if bug.impact_score != score:
            bug.impact_score = score
            changed += 1
    await session.flush()
    return changed


async def rescore_issues(scorer: Scorer, issues: list[GithubIssue]) -> int:
    """Score mirrored GitHub ``issues``; returns how many changed."""
    changed = 0
    for repo in sorted({i.repo for i in issues}):
        mine = [i for i in issues if i.repo == repo]
        closing = await closing_pulls(scorer.session, repo=repo, numbers=[i.number for i in mine])
        for issue in mine:
            score = await scorer.score(closing.get(issue.number, []), issue.body)
            if issue.impact_score != score:
                issue.impact_score = score
                changed += 1
    await scorer.session.flush()
    return changed


async def rescore(
    session: AsyncSession,
    *,
    scan_name: str | None,
    bug_ids: Sequence[int] = (),
    issues: Sequence[tuple[str, int]] = (),
    everything_open: bool = False,
) -> int:
    """Recompute the scores of the bugs ``bug_ids`` and the issues ``issues`` (repo,
    number) — or, ``everything_open``, of every open bug and open issue — against the
    scan of ``scan_name`` (else the most recent). Returns how many scores changed."""
    scorer = await Scorer.of(session, scan_name)
    if scorer is None:
        return 0
    bugs: list[BugLog] = []
    found: list[GithubIssue] = []
    bug_stmt = select(BugLog).order_by(BugLog.id).with_for_update()
    issue_stmt = select(GithubIssue).order_by(GithubIssue.id).with_for_update()
    if everything_open:
        bugs = list(await session.scalars(bug_stmt.where(BugLog.status.in_(OPEN_BUGS))))
        found = list(await session.scalars(issue_stmt.where(GithubIssue.state == "open")))
    else:
        if bug_ids:
            bugs = list(await session.scalars(bug_stmt.where(BugLog.id.in_(sorted(set(bug_ids))))))
        if issues:
            rows = await session.scalars(
                issue_stmt.where(
                    GithubIssue.repo.in_(sorted({r for r, _ in issues})),
                    GithubIssue.number.in_(sorted({n for _, n in issues})),
                )
            )
            found = [i for i in rows if (i.repo, i.number) in set(issues)]
    return await rescore_bugs(scorer, bugs) + await rescore_issues(scorer, found)
