"""A few seconds of the load benchmark (the full run is `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.slow
def test_load_benchmark_smoke() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "load.py"),
            "--db",
            "sqlite",
            "--clients",
            "3",
            "--duration",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 errors" in done.stdout
    assert "POST /support/bug" in done.stdout and "POST /api/v1/deployments" in done.stdout
