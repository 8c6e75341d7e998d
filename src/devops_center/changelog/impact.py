"""How much a change matters: the modules of the latest architecture scan a pull
request's files touch, the component they belong to and the impact score
(:func:`devops_center.changelog.rules.impact`), and the bugs a pull request closes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.architecture import service as architecture
from devops_center.architecture.models import ArchModule, ArchScan
from devops_center.changelog import rules
from devops_center.changelog.rules import Touched
from devops_center.errors import NotFound
from devops_center.github import pulls
from devops_center.github.models import PullRequest
from devops_center.support.models import BugLog


async def scan_for(session: AsyncSession, name: str | None) -> ArchScan | None:
    """The scan changes are measured against: the repository's own (the worker's scan of
    GITHUB_REPO, ``name``) when there is one, else the most recent."""
    if name:
        own = await session.scalar(select(ArchScan).where(ArchScan.name == name))
        if own is not None:
            return own
    try:
        return await architecture.get_scan(session)
    except NotFound:
        return None


def _candidates(path: str) -> list[str]:
    # A local scan of src/ names modules relative to it; GitHub names files from the root.
    parts = path.split("/")
    return [path, "/".join(parts[1:])] if len(parts) > 1 else [path]


def match(
    found: Mapping[str, ArchModule],
    files: list[tuple[str, int]],
    candidates: Callable[[str], list[str]] = _candidates,
) -> list[Touched]:
    """The modules of ``found`` (by path) among ``files`` (path, lines changed): a file is
    the module of its first candidate path that is one (a pull request's files: itself,
    then without its first directory; a stack trace's: see ``traces.candidates``)."""
    out: dict[str, Touched] = {}
    for path, changed in files:
        module = next((found[c] for c in candidates(path) if c in found), None)
        if module is None:
            continue
        before = out.get(module.name)
        out[module.name] = Touched(
            name=module.name,
            package=module.package,
            centrality=module.centrality,
            loc=module.loc,
            changed=changed + (before.changed if before else 0),
        )
    return list(out.values())


async def touched(
    session: AsyncSession,
    scan: ArchScan,
    files: list[tuple[str, int]],
    candidates: Callable[[str], list[str]] = _candidates,
) -> list[Touched]:
    """The scan's modules among ``files`` (path, lines added + deleted)."""
    wanted = sorted({c for path, _ in files for c in candidates(path)})
    found = await architecture.modules_by_path(session, scan=scan, paths=wanted)
    return match(found, files, candidates)


@dataclass(frozen=True)
class Assessment:
    component: str | None
    impact: float | None  # None: no scan to measure against
    modules: list[Touched]


async def assess(session: AsyncSession, pull: PullRequest) -> Assessment:
    """The component and impact score of a pull request from its stored files."""
    files = [(f.path, f.additions + f.deletions) for f in await pulls.files_of(session, pull.id)]
    scan = await scan_for(session, pull.repo)
    if scan is None:
        return Assessment(rules.fallback_component(p for p, _ in files), None, [])
    modules = await touched(session, scan, files)
    root = await architecture.common_root(session, scan=scan)
    component = rules.component(modules, root) or rules.fallback_component(p for p, _ in files)
    return Assessment(component, rules.impact(modules), modules)


async def bugs_closed_by(
    session: AsyncSession, numbers: list[int], *, lock: bool = False
) -> list[BugLog]:
    if not numbers:
        return []
    stmt = select(BugLog).where(BugLog.github_issue_number.in_(numbers)).order_by(BugLog.id)
    if lock:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars())
