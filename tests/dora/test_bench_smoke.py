"""A few-second smoke of bench/dora.py (the real run is `make bench`)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "dora.py"


@pytest.fixture
def bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_dora", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROUNDS", 3)
    monkeypatch.setattr(module, "SERVICES", 5)
    monkeypatch.setattr(module, "SIZES", [600, 1200])  # the largest is checked against raw rows
    return module


async def test_bench_smoke_sqlite(bench, tmp_path) -> None:
    figures = await bench.run("sqlite", [600, 1200], tmp_path, datetime.now(UTC))
    small, big = figures[600], figures[1200]
    assert small["stale"] == 0 and big["stale"] == 0  # every read saw the write before it
    assert big["mismatches"] == 0 and "mismatches" not in small  # report = raw rows
    assert all(p50 > 0 and p95 >= p50 for p50, p95 in (small["read"], small["write"]))
    assert len(small["read"]) == 2 and small["import"] > 0
    failures = bench.summary("sqlite", figures)
    assert isinstance(failures, list)
    assert "sqlite reads that missed the write just made (all sizes)" not in failures
    assert not [f for f in failures if "recomputation from the raw rows" in f]


async def test_bench_load_smoke(bench, tmp_path, monkeypatch) -> None:
    """The loaded part: a real `dcc web`, clients signed in (the page answers 200, not a
    redirect to /login) and registering deployments with the token, every figure there."""
    monkeypatch.setattr(bench, "CLIENTS", 4)
    monkeypatch.setattr(bench, "WORKERS", 2)
    monkeypatch.setattr(bench, "LOAD_SECONDS", 3.0)
    monkeypatch.setattr(bench, "WARMING_SECONDS", 0.5)
    monkeypatch.setattr(bench, "SIZES", [600])
    figures = await bench.run("sqlite", [600], tmp_path, datetime.now(UTC), load=True)
    load = figures[600]["load"]
    assert load["errors"] == []
    assert load["requests"] > 0 and load["page"][1] >= load["page"][0] > 0
    assert load["client_cpu_ms"] > 0
    lines = bench.summary("sqlite", figures)
    assert isinstance(lines, list)
