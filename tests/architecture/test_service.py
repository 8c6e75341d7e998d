"""Storing scans (replace in one transaction) and reading them back, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.architecture import service as architecture
from devops_center.architecture.models import ArchEdge, ArchModule, ArchPackage, ArchScan
from devops_center.errors import Invalid, NotFound
from devops_center.outbox.models import Job
from tests.architecture import tree as fixture
from tests.architecture.conftest import store


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_scan_is_stored_whole(sessionmaker, shop_scan: ArchScan) -> None:
    async with sessionmaker() as s:
        scan = await architecture.get_scan(s, name="shop")
        view = await architecture.graph(s, scan=scan)
    assert (scan.module_count, scan.edge_count, scan.package_count) == (10, 17, 3)
    assert scan.cycle_count == 2 and scan.cycles == fixture.CYCLES
    assert scan.commit_sha == "a" * 40 and scan.source == "path"
    assert scan.externals == fixture.EXTERNALS
    assert scan.problems == [
        {"path": "src/shop/broken.py", "line": 1, "message": scan.problems[0]["message"]}
    ]
    assert {(e.source, e.target, e.type_checking, e.lazy) for e in view.edges} == fixture.EDGES
    assert {m.name: (m.path, m.package) for m in view.modules} == fixture.MODULES
    assert {p.name: p.parent for p in view.packages} == {
        "shop": None,
        "shop.core": "shop",
        "shop.plugins": "shop",
    }
    assert scan.loc == sum(m.loc for m in view.modules)


async def test_a_new_scan_of_the_name_replaces_the_old_one(
    sessionmaker, shop_scan: ArchScan, shop_dir: Path
) -> None:
    (shop_dir / "src/shop/new.py").write_text("from shop import util\n")
    (shop_dir / "src/shop/plugins/extra.py").write_text("x = 1\n")  # the cycle is gone
    again = await store(sessionmaker, shop_dir, commit_sha="b" * 40)
    async with sessionmaker() as s:
        assert await _count(s, ArchScan) == 1
        assert await _count(s, ArchModule) == 11
        assert await _count(s, ArchEdge) == 17  # one more, one less
        assert await _count(s, ArchPackage) == 3
        scan = await architecture.get_scan(s, name="shop")
    assert scan.id == shop_scan.id == again.id
    assert scan.commit_sha == "b" * 40 and scan.scanned_at > shop_scan.scanned_at
    assert scan.cycles == [fixture.CYCLES[0]]


async def test_a_failed_replacement_leaves_the_old_scan(
    sessionmaker, shop_scan: ArchScan, shop_dir: Path
) -> None:
    result = architecture.scan_directory(shop_dir / "src" / "shop")

    async def replace_then_die() -> None:
        async with sessionmaker() as s, s.begin():
            await architecture.store_scan(
                s, name="shop", result=result, source="path", location="x"
            )
            raise RuntimeError("the worker died half-way")

    with pytest.raises(RuntimeError):
        await replace_then_die()
    async with sessionmaker() as s:
        assert await _count(s, ArchModule) == 10
        scan = await architecture.get_scan(s, name="shop")
        assert scan.commit_sha == "a" * 40


async def test_other_names_are_kept_apart(sessionmaker, shop_scan: ArchScan, shop_dir) -> None:
    await store(sessionmaker, shop_dir / "src" / "shop", name="just the package")
    async with sessionmaker() as s:
        names = [x.name for x in await architecture.list_scans(s)]
        latest = await architecture.get_scan(s)
        assert await _count(s, ArchModule) == 10 + 9
    assert names == ["just the package", "shop"]
    assert latest.name == "just the package"


async def test_bad_names_and_unknown_scans(sessionmaker, shop_dir: Path) -> None:
    with pytest.raises(Invalid):
        await store(sessionmaker, shop_dir, name="  ")
    with pytest.raises(Invalid):
        await store(sessionmaker, shop_dir, name="x" * 201)
    async with sessionmaker() as s:
        assert await _count(s, ArchScan) == 0
        with pytest.raises(NotFound):
            await architecture.get_scan(s)
        with pytest.raises(NotFound):
            await architecture.get_scan(s, name="nope")


async def test_module_detail_and_lookup_by_path(sessionmaker, shop_scan: ArchScan) -> None:
    async with sessionmaker() as s:
        view = await architecture.module_detail(s, scan=shop_scan, name="shop.util")
        by_path = await architecture.modules_by_path(
            s, scan=shop_scan, paths=["src/shop/api.py", "README.md"]
        )
        with pytest.raises(NotFound):
            await architecture.module_detail(s, scan=shop_scan, name="shop.nope")
        assert await architecture.common_root(s, scan=shop_scan) is None  # "manage" too
    assert [n.module.name for n in view.imports] == ["shop.core.models"]
    assert view.imports[0].type_checking
    assert [n.module.name for n in view.imported_by] == [
        "shop",
        "shop.api",
        "shop.core.models",
        "shop.core.prices",
    ]
    assert view.cycles == []
    assert list(by_path) == ["src/shop/api.py"]


async def test_enqueue_the_github_scan_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s, s.begin():
        assert await architecture.enqueue_github_scan(s)
        assert not await architecture.enqueue_github_scan(s, force=True)
    async with sessionmaker() as s:
        jobs = (await s.execute(select(Job.kind, Job.payload))).all()
    assert jobs == [(architecture.JOB_SCAN_GITHUB, {})]  # force=False is the default
