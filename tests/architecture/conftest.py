"""Architecture tests: the fixture tree scanned and stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.architecture import service as architecture
from devops_center.architecture.models import ArchScan
from tests.architecture import tree as fixture


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    return fixture.write_tree(tmp_path / "shop-repo")


async def store(
    sessionmaker: async_sessionmaker[AsyncSession], path: Path, name: str = "shop", **kw: Any
) -> ArchScan:
    result = architecture.scan_directory(path)
    async with sessionmaker() as session, session.begin():
        return await architecture.store_scan(
            session, name=name, result=result, source="path", location=str(path), **kw
        )


@pytest.fixture
async def shop_scan(sessionmaker: async_sessionmaker[AsyncSession], shop_dir: Path) -> ArchScan:
    return await store(sessionmaker, shop_dir, commit_sha="a" * 40)
