"""What /admin/architecture and its module page show, gathered in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.architecture import service
from devops_center.architecture.models import ArchModule, ArchPackage, ArchScan
from devops_center.config import Feature, Settings
from devops_center.outbox.models import Job

COLLAPSE_OVER = 150  # modules: above this the graph opens collapsed to packages
TOP_EXTERNALS = 12


def shorten(name: str, root: str | None) -> str:
    """``name`` without the scan's one top-level package (``root.web.app`` → ``web.app``)."""
    if root and name.startswith(root + "."):
        return name[len(root) + 1 :]
    return name


@dataclass
class Overview:
    scans: list[ArchScan]
    scan: ArchScan | None
    github: Feature
    github_name: str | None  # the scan name the worker uses (owner/repo)
    github_jobs: list[Job]
    top_modules: list[ArchModule] = field(default_factory=list)
    packages: list[ArchPackage] = field(default_factory=list)
    externals: list[tuple[str, int]] = field(default_factory=list)
    collapse_over: int = COLLAPSE_OVER
    root: str | None = None

    def short(self, name: str) -> str:
        return shorten(name, self.root)

    @property
    def scan_waiting(self) -> bool:
        return any(j.status in ("pending", "running") for j in self.github_jobs)

    @property
    def last_failure(self) -> Job | None:
        latest = self.github_jobs[0] if self.github_jobs else None
        return latest if latest is not None and latest.status in ("failed", "parked") else None


async def overview(session: AsyncSession, settings: Settings, *, name: str | None) -> Overview:
    scans = await service.list_scans(session)
    scan: ArchScan | None = None
    if name or scans:  # a name that is no scan is a 404, no scan at all the empty page
        scan = await service.get_scan(session, name=name or None)
    view = Overview(
        scans=scans,
        scan=scan,
        github=settings.github_enabled(),
        github_name=settings.github_repo,
        github_jobs=await service.github_scan_jobs(session),
    )
    if scan is not None:
        view.root = await service.common_root(session, scan=scan)
        view.top_modules = await service.top_modules(session, scan=scan)
        packages = await session.execute(
            select(ArchPackage)
            .where(ArchPackage.scan_id == scan.id)
            .order_by(ArchPackage.centrality.desc(), ArchPackage.name)
        )
        view.packages = list(packages.scalars())
        externals: dict[str, int] = dict(scan.externals or {})
        view.externals = sorted(externals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_EXTERNALS]
    return view


@dataclass
class ModulePage:
    view: service.ModuleView
    # Filled by the page from the changelog journal (a feature above this one): the
    # entries whose pull requests changed the module, the open bugs whose fixes touch it.
    changes: list[Any] = field(default_factory=list)
    open_bugs: list[Any] = field(default_factory=list)
    root: str | None = None

    def short(self, name: str) -> str:
        return shorten(name, self.root)


async def module_page(session: AsyncSession, *, scan_name: str | None, name: str) -> ModulePage:
    scan = await service.get_scan(session, name=scan_name or None)
    return ModulePage(
        view=await service.module_detail(session, scan=scan, name=name),
        root=await service.common_root(session, scan=scan),
    )
