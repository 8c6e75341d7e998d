"""``/api/v1/architecture``: a scan's module graph, and the list of scans (token scope
``architecture:read``, or an admin's session — the /admin/architecture page draws from it).

Thin: everything comes from :mod:`devops_center.architecture.service`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from devops_center.architecture import service as architecture
from devops_center.architecture.models import ArchScan
from devops_center.changelog import queries as changelog
from devops_center.users.access import Caller
from devops_center.web.api.common import scope_doc
from devops_center.web.api.deployments import AUTH_ERRORS
from devops_center.web.api.problems import problem_response
from devops_center.web.deps import SessionDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["architecture"])

Reader = Annotated[Caller, Depends(require_scope("architecture:read", allow_admin_session=True))]


class ProblemOut(BaseModel):
    path: str
    line: int | None
    message: str


class ScanOut(BaseModel):
    name: str
    source: str = Field(description="path (dcc arch scan) or github (the worker)")
    location: str = Field(description="the scanned directory, or owner/repo")
    commit_sha: str | None
    scanned_at: datetime
    duration_ms: int
    modules: int
    edges: int
    packages: int
    cycles: int
    loc: int
    problems: list[ProblemOut] = Field(description="files skipped (syntax errors …)")
    externals: dict[str, int] = Field(
        description="external top-level imports → how many modules import them"
    )
    cycle_members: list[list[str]] = Field(description="the import cycles, largest first")


class ModuleOut(BaseModel):
    name: str
    path: str = Field(description="relative to the scanned directory (the repository root)")
    package: str = Field(description='the package it sits in directly ("" at the top level)')
    is_package: bool = Field(description="an __init__.py")
    loc: int = Field(description="lines of code: not blank, not comments, not docstrings")
    fan_in: int = Field(description="modules importing it")
    fan_out: int = Field(description="modules it imports")
    centrality: float = Field(description="PageRank on the import graph, min-max to [0, 1]")
    in_cycle: bool = Field(description="part of an import cycle (runtime imports)")
    recent_change: float = Field(
        0.0,
        description="lines changed by the changelog's pull requests of the last 30 days, "
        "relative to the most changed module ([0, 1])",
    )


class EdgeOut(BaseModel):
    source: str = Field(description="the importing module")
    target: str = Field(description="the imported module")
    type_checking: bool = Field(description="only under if TYPE_CHECKING:")
    lazy: bool = Field(description="only inside functions")


class PackageOut(BaseModel):
    name: str
    parent: str | None = Field(description="the enclosing package, if scanned")
    modules: int
    loc: int
    fan_in: int = Field(description="other packages importing it")
    fan_out: int = Field(description="other packages it imports")
    centrality: float
    in_cycle: bool
    recent_change: float = Field(0.0, description="as a module's, over its modules")


class ArchitectureOut(BaseModel):
    scan: ScanOut
    modules: list[ModuleOut]
    edges: list[EdgeOut]
    packages: list[PackageOut]


def scan_out(scan: ArchScan) -> ScanOut:
    return ScanOut(
        name=scan.name,
        source=scan.source,
        location=scan.location,
        commit_sha=scan.commit_sha,
        scanned_at=scan.scanned_at,
        duration_ms=scan.duration_ms,
        modules=scan.module_count,
        edges=scan.edge_count,
        packages=scan.package_count,
        cycles=scan.cycle_count,
        loc=scan.loc,
        problems=[ProblemOut(**p) for p in scan.problems or []],
        externals=dict(scan.externals or {}),
        cycle_members=[list(c) for c in scan.cycles or []],
    )


def graph_out(
    scan: ArchScan, view: architecture.GraphView, churn: dict[str, int] | None = None
) -> ArchitectureOut:
    """The graph as JSON; ``churn``: lines changed per module lately (recent_change)."""
    churn = churn or {}
    by_package: dict[str, int] = {}
    for m in view.modules:
        by_package[m.package] = by_package.get(m.package, 0) + churn.get(m.name, 0)
    top_module = max(churn.values(), default=0) or 1
    top_package = max(by_package.values(), default=0) or 1
    return ArchitectureOut(
        scan=scan_out(scan),
        modules=[
            ModuleOut(
                name=m.name,
                path=m.path,
                package=m.package,
                is_package=m.is_package,
                loc=m.loc,
                fan_in=m.fan_in,
                fan_out=m.fan_out,
                centrality=m.centrality,
                in_cycle=m.in_cycle,
                recent_change=round(churn.get(m.name, 0) / top_module, 3),
            )
            for m in view.modules
        ],
        edges=[
            EdgeOut(source=e.source, target=e.target, type_checking=e.type_checking, lazy=e.lazy)
            for e in view.edges
        ],
        packages=[
            PackageOut(
                name=p.name,
                parent=p.parent,
                modules=p.modules,
                loc=p.loc,
                fan_in=p.fan_in,
                fan_out=p.fan_out,
                centrality=p.centrality,
                in_cycle=p.in_cycle,
                recent_change=round(by_package.get(p.name, 0) / top_package, 3),
            )
            for p in view.packages
        ],
    )


NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: problem_response("No scan of that name (or none at all)")
}


@router.get(
    "/architecture",
    response_model=ArchitectureOut,
    responses={**AUTH_ERRORS, **NOT_FOUND},
    summary="A scan's module dependency graph",
    openapi_extra=scope_doc("architecture:read"),
)
async def get_architecture(
    session: SessionDep,
    _who: Reader,
    name: Annotated[
        str | None, Query(max_length=200, description="the scan; default: the latest")
    ] = None,
) -> ArchitectureOut:
    """Modules with their figures, import edges and packages of one scan."""
    scan = await architecture.get_scan(session, name=name or None)
    view = await architecture.graph(session, scan=scan)
    return graph_out(scan, view, await changelog.churn(session, scan=scan))


@router.get(
    "/architecture/scans",
    response_model=list[ScanOut],
    responses=AUTH_ERRORS,
    summary="Every stored scan",
    openapi_extra=scope_doc("architecture:read"),
)
async def get_scans(session: SessionDep, _who: Reader) -> list[ScanOut]:
    return [scan_out(s) for s in await architecture.list_scans(session)]
