"""The demo's architecture map: a scan of this project's own code, made once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.architecture import service
from devops_center.architecture.models import ArchScan

DEMO_SCAN = "devops_center"


def source_root() -> Path:
    """The project's checkout when installed from one (src layout: paths read
    ``src/devops_center/…`` as in the repository), else the installed package."""
    package = Path(__file__).resolve().parents[1]
    if package.parent.name == "src" and (package.parent.parent / "pyproject.toml").is_file():
        return package.parent.parent
    return package


async def ensure_scan(session: AsyncSession) -> bool:
    """Scan ``devops_center`` unless a scan of that name exists. True when it scanned."""
    if await session.scalar(select(ArchScan.id).where(ArchScan.name == DEMO_SCAN)):
        return False
    root = source_root()
    result = await asyncio.to_thread(service.scan_directory, root)
    await service.store_scan(
        session, name=DEMO_SCAN, result=result, source="path", location=str(root)
    )
    return True
