"""A one-second smoke run of bench/architecture.py (the full run is ``make bench``)."""

from __future__ import annotations

import email
from pathlib import Path

from bench.architecture import bench


async def test_architecture_bench_smoke() -> None:
    assert await bench([("email", Path(email.__file__).parent)]) == []
