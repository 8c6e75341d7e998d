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
    monkeypatch.setattr(module, "REQUESTS", 3)
    monkeypatch.setattr(module, "COLD_REQUESTS", 2)
    monkeypatch.setattr(module, "SERVICES", 5)
    return module


async def test_bench_smoke_sqlite(bench, tmp_path) -> None:
    figures = await bench.run_sqlite(400, tmp_path, datetime.now(UTC))
    assert set(figures) == {"sql", "api", "page", "api_cold"}
    assert all(p50 > 0 and p95 >= p50 for p50, p95 in figures.values())
    assert isinstance(bench.report("sqlite", {400: figures}), list)
