"""``dcc arch`` as a user runs it, and the demo's scan of this project."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from devops_center.architecture import demo
from devops_center.architecture.models import ArchScan
from devops_center.cli import demo_data
from tests.architecture import tree as fixture
from tests.cli.test_cli import dcc, env  # noqa: F401 - the fixture


def test_scan_list_and_replace(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    root = fixture.write_tree(tmp_path / "shop-repo")
    first = dcc("arch", "scan", str(root), "--commit", "a" * 40, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("shop-repo: 10 modules, 17 edges, 3 packages, 2 cycles,")
    assert "skipped src/shop/broken.py:1: SyntaxError" in first.stderr
    again = dcc("arch", "scan", str(root / "src" / "shop"), "--name", "shop-repo", env=env)
    assert again.returncode == 0 and "9 modules" in again.stdout
    listing = dcc("arch", "list", env=env).stdout.splitlines()
    assert len(listing) == 1 and listing[0].startswith("shop-repo\tpath\t-\t")


def test_bad_paths_and_github_off(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    missing = dcc("arch", "scan", str(tmp_path / "nope"), env=env)
    assert missing.returncode == 2 and "not a directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = dcc("arch", "scan", str(tmp_path / "empty"), env=env)
    assert empty.returncode == 2 and "no Python modules" in empty.stderr
    off = dcc("arch", "scan-github", env=env)
    assert off.returncode == 2 and "GitHub is off" in off.stderr
    assert dcc("arch", "list", env=env).stdout.strip() == "no scans yet"


async def test_the_demo_scans_this_project_once(settings, sessionmaker) -> None:
    await demo_data.load(settings)
    async with sessionmaker() as s:
        scan = (await s.execute(select(ArchScan))).scalar_one()
    assert scan.name == demo.DEMO_SCAN and scan.module_count > 80 and scan.edge_count > 250
    await demo_data.load(settings)  # a second start scans nothing again
    async with sessionmaker() as s:
        again = (await s.execute(select(ArchScan))).scalar_one()
    assert again.scanned_at == scan.scanned_at
