"""A few-second smoke of bench/deploy_import.py (the real run is `make bench`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deploy_import.py"


@pytest.fixture
def bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_deploy_import", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "LINES", 300)
    return module


async def test_bench_smoke_sqlite_and_its_target_can_fail(bench, tmp_path, capsys) -> None:
    path = tmp_path / "h.jsonl"
    bench.write(path, 300)
    assert await bench.run("sqlite", path, tmp_path) in (True, False)
    out = capsys.readouterr().out
    assert "300 lines (600 commits) imported" in out and "target ≤ 300 s" in out
    assert "the same file again (all updates)" in out and "(target ≤ 2 ×)" in out
    bench.TARGET_SECONDS["sqlite"] = 0.001  # an unreachable target is reported as FAIL
    (tmp_path / "import.sqlite3").unlink()
    assert await bench.run("sqlite", path, tmp_path) is False
    assert "FAIL" in capsys.readouterr().out


async def test_the_reimport_target_can_fail(bench, tmp_path, capsys) -> None:
    path = tmp_path / "h.jsonl"
    bench.write(path, 300)
    bench.TARGET_AGAIN_RATIO = 0.001  # a re-import faster than a thousandth of the first
    assert await bench.run("sqlite", path, tmp_path) is False
    assert "FAIL  the same file again (all updates)" in capsys.readouterr().out
