"""A few-second smoke run of bench/github.py (the full run is ``make bench``)."""

from __future__ import annotations

from bench.github import bench


async def test_github_bench_smoke() -> None:
    missed = await bench(deliveries=20, bugs=10, issues=30)
    assert not [m for m in missed if "issues for" in m]  # correctness, not speed
