"""Architecture scans: run one, store it (replacing the previous scan of that name in the
caller's transaction), read it back for the API, the page and the changelog.

:func:`scan_directory` is CPU work (``ast`` on every file): callers in an event loop run
it in a thread (``asyncio.to_thread``). Everything else takes the caller's session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from devops_center.architecture.graph import Analysis, analyse, parent_package
from devops_center.architecture.models import ArchEdge, ArchModule, ArchPackage, ArchScan
from devops_center.architecture.parser import Tree, parse_tree
from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.outbox import service as outbox
from devops_center.outbox.messages import RescoreImpact, ScanGithubArchitecture
from devops_center.outbox.models import Job

JOB_SCAN_GITHUB = ScanGithubArchitecture.kind
NAME_MAX = 200
MAX_PROBLEMS_KEPT = 200


@dataclass(frozen=True)
class ScanResult:
    tree: Tree
    analysis: Analysis
    seconds: float


def scan_directory(path: Path) -> ScanResult:
    """Parse and analyse a source tree (blocking; raises ``parser.ScanError``)."""
    started = time.perf_counter()
    tree = parse_tree(path)
    analysis = analyse(tree)
    return ScanResult(tree=tree, analysis=analysis, seconds=time.perf_counter() - started)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise Invalid(
            lazy("A scan needs a name of 1 to 200 characters."),
            fields={"name": lazy("A scan needs a name of 1 to 200 characters.")},
        )
    return cleaned


async def store_scan(
    session: AsyncSession,
    *,
    name: str,
    result: ScanResult,
    source: str,
    location: str,
    commit_sha: str | None = None,
    scanned_at: datetime | None = None,
) -> ArchScan:
    """Store ``result`` as the scan ``name``, replacing that name's previous scan (its
    modules, edges and packages) in the caller's transaction: readers see the old scan
    or the new one, never a mix."""
    name = _clean_name(name)
    tree, analysis = result.tree, result.analysis
    scan = await session.scalar(select(ArchScan).where(ArchScan.name == name).with_for_update())
    if scan is None:
        scan = ArchScan(name=name)
        session.add(scan)
    else:
        for model in (ArchEdge, ArchPackage, ArchModule):
            await session.execute(delete(model).where(model.scan_id == scan.id))
    scan.source = source
    scan.location = location[:500]
    scan.commit_sha = commit_sha[:40] if commit_sha else None
    scan.scanned_at = scanned_at or utcnow()
    scan.duration_ms = round(result.seconds * 1000)
    scan.module_count = len(tree.modules)
    scan.edge_count = len(tree.edges)
    scan.package_count = len(analysis.packages)
    scan.cycle_count = len(analysis.cycles)
    scan.loc = sum(m.loc for m in tree.modules.values())
    scan.problems = [
        {"path": p.path, "line": p.line, "message": p.message[:500]}
        for p in tree.problems[:MAX_PROBLEMS_KEPT]
    ]
    scan.externals = dict(tree.externals)
    scan.cycles = [list(c) for c in analysis.cycles]
    await session.flush()

    module_rows = []
    for module_name, module in sorted(tree.modules.items()):
        fig = analysis.modules[module_name]
        module_rows.append(
            {
                "scan_id": scan.id,
                "name": module_name,
                "path": module.path,
                "package": module.package,
                "is_package": module.is_package,
                "loc": fig.loc,
                "fan_in": fig.fan_in,
                "fan_out": fig.fan_out,
                "centrality": fig.centrality,
                "in_cycle": fig.in_cycle,
            }
        )
    ids: dict[str, int] = {}
    if module_rows:
        returned = await session.execute(
            insert(ArchModule).returning(ArchModule.id, ArchModule.name), module_rows
        )
        ids = {row_name: pk for pk, row_name in returned}
    edge_rows = [
        {
            "scan_id": scan.id,
            "source_id": ids[e.source],
            "target_id": ids[e.target],
            "type_checking": e.type_checking,
            "lazy": e.lazy,
            "line": e.line,
        }
        for e in tree.edges
    ]
    if edge_rows:
        await session.execute(insert(ArchEdge), edge_rows)
    names = set(analysis.packages)
    package_rows = [
        {
            "scan_id": scan.id,
            "name": fig.name,
            "parent": parent_package(fig.name, names),
            "modules": fig.modules,
            "loc": fig.loc,
            "fan_in": fig.fan_in,
            "fan_out": fig.fan_out,
            "centrality": fig.centrality,
            "in_cycle": fig.in_cycle,
        }
        for fig in analysis.packages.values()
    ]
    if package_rows:
        await session.execute(insert(ArchPackage), package_rows)
    # open bugs and issues are weighed again against the new scan (changelog.weights)
    await outbox.enqueue(
        session,
        RescoreImpact(all_open=True),
        unique_key=f"{RescoreImpact.kind}:scan:{scan.id}:{scan.scanned_at.isoformat()}",
    )
    return scan


# ------------------------------------------------------------------------- reading


async def list_scans(session: AsyncSession) -> list[ArchScan]:
    rows = await session.execute(select(ArchScan).order_by(ArchScan.name))
    return list(rows.scalars())


async def get_scan(session: AsyncSession, *, name: str | None = None) -> ArchScan:
    """The scan ``name``; without a name the most recent one."""
    stmt = select(ArchScan)
    if name:
        stmt = stmt.where(ArchScan.name == name)
    else:
        stmt = stmt.order_by(ArchScan.scanned_at.desc(), ArchScan.id.desc()).limit(1)
    scan = await session.scalar(stmt)
    if scan is None:
        raise NotFound(lazy("No such architecture scan"))
    return scan


@dataclass(frozen=True)
class EdgeView:
    source: str
    target: str
    type_checking: bool
    lazy: bool
    line: int


@dataclass(frozen=True)
class GraphView:
    scan: ArchScan
    modules: list[ArchModule]
    packages: list[ArchPackage]
    edges: list[EdgeView]


async def graph(session: AsyncSession, *, scan: ArchScan) -> GraphView:
    """Every module, package and edge of a scan (three queries)."""
    modules = list(
        (
            await session.execute(
                select(ArchModule).where(ArchModule.scan_id == scan.id).order_by(ArchModule.name)
            )
        ).scalars()
    )
    packages = list(
        (
            await session.execute(
                select(ArchPackage).where(ArchPackage.scan_id == scan.id).order_by(ArchPackage.name)
            )
        ).scalars()
    )
    names = {m.id: m.name for m in modules}
    rows = await session.execute(
        select(
            ArchEdge.source_id,
            ArchEdge.target_id,
            ArchEdge.type_checking,
            ArchEdge.lazy,
            ArchEdge.line,
        ).where(ArchEdge.scan_id == scan.id)
    )
    edges = sorted(
        (EdgeView(names[s], names[t], bool(tc), bool(lz), line) for s, t, tc, lz, line in rows),
        key=lambda e: (e.source, e.target),
    )
    return GraphView(scan=scan, modules=modules, packages=packages, edges=edges)


@dataclass(frozen=True)
class Neighbour:
    module: ArchModule
    type_checking: bool
    lazy: bool
    line: int


@dataclass(frozen=True)
class ModuleView:
    scan: ArchScan
    module: ArchModule
    imports: list[Neighbour]  # what it imports
    imported_by: list[Neighbour]  # what imports it
    cycles: list[list[str]]  # the import cycles it is part of


async def module_detail(session: AsyncSession, *, scan: ArchScan, name: str) -> ModuleView:
    module = await session.scalar(
        select(ArchModule).where(ArchModule.scan_id == scan.id, ArchModule.name == name)
    )
    if module is None:
        raise NotFound(lazy("No such module in this scan"))
    other = aliased(ArchModule)

    async def neighbours(mine: Any, theirs: Any) -> list[Neighbour]:
        rows = await session.execute(
            select(other, ArchEdge.type_checking, ArchEdge.lazy, ArchEdge.line)
            .join(ArchEdge, theirs == other.id)
            .where(mine == module.id)
            .order_by(other.name)
        )
        return [Neighbour(m, bool(tc), bool(lz), line) for m, tc, lz, line in rows]

    return ModuleView(
        scan=scan,
        module=module,
        imports=await neighbours(ArchEdge.source_id, ArchEdge.target_id),
        imported_by=await neighbours(ArchEdge.target_id, ArchEdge.source_id),
        cycles=[c for c in scan.cycles or [] if name in c],
    )


async def common_root(session: AsyncSession, *, scan: ArchScan) -> str | None:
    """The one top-level package every module of the scan is in, if there is one."""
    first = await session.scalar(
        select(ArchModule.name).where(ArchModule.scan_id == scan.id).limit(1)
    )
    if first is None:
        return None
    top = first.partition(".")[0]
    outside = await session.scalar(
        select(func.count()).where(
            ArchModule.scan_id == scan.id,
            ArchModule.name != top,
            ~ArchModule.name.startswith(top + ".", autoescape=True),
        )
    )
    return None if outside else top


async def top_modules(
    session: AsyncSession, *, scan: ArchScan, limit: int = 15
) -> list[ArchModule]:
    """The most central modules of a scan (the page's table)."""
    rows = await session.execute(
        select(ArchModule)
        .where(ArchModule.scan_id == scan.id)
        .order_by(ArchModule.centrality.desc(), ArchModule.name)
        .limit(limit)
    )
    return list(rows.scalars())


async def modules_by_path(
    session: AsyncSession, *, scan: ArchScan, paths: list[str]
) -> dict[str, ArchModule]:
    """The modules of ``paths`` (as a pull request names its files), by path."""
    if not paths:
        return {}
    rows = await session.execute(
        select(ArchModule).where(ArchModule.scan_id == scan.id, ArchModule.path.in_(paths))
    )
    return {m.path: m for m in rows.scalars()}


# ----------------------------------------------------------------- the GitHub scan


async def enqueue_github_scan(session: AsyncSession, *, force: bool = False) -> bool:
    """Queue a scan of the GitHub repository's default branch, in the caller's
    transaction (the "Scan now" button; a merged pull request). At most one waits at a
    time; ``force`` rescans even when the branch's commit was scanned already.
    Returns False when one was already waiting."""
    waiting = await session.scalar(
        select(func.count()).where(Job.kind == JOB_SCAN_GITHUB, Job.status == "pending")
    )
    if waiting:
        return False
    await outbox.enqueue(session, ScanGithubArchitecture(force=force), max_attempts=5)
    return True


async def github_scan_jobs(session: AsyncSession, *, limit: int = 5) -> list[Job]:
    """The latest GitHub scan jobs (queued, running, failed or done), newest first."""
    return await outbox.list_jobs(session, kind=JOB_SCAN_GITHUB, limit=limit)
