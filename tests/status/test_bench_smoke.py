"""A few-second run of bench/status_checks.py (the real benchmark runs in `make bench`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "status_checks.py"


async def test_bench_smoke(capsys) -> None:
    spec = importlib.util.spec_from_file_location("status_checks_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--checks", "6", "--workers", "2", "--history-checks", "1", "--days", "8"]
    code = await module.main([*args, "--repeat", "3", "--sqlite-only"])
    out = capsys.readouterr().out
    assert "results/s" in out and "p95" in out
    assert code in (0, 1)  # targets are for the full run; here only that it works
