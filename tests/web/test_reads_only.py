"""Routes marked ``reads_only`` (the DORA dashboard and ``GET /api/v1/metrics/dora``) run
their statements without BEGIN/COMMIT on PostgreSQL; every other route keeps its
transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The transactions the asyncpg driver starts (BEGIN sent to PostgreSQL)."""
    started: list[int] = []
    original = pg_asyncpg.AsyncAdapt_asyncpg_connection._start_transaction

    async def counting(self: Any) -> None:
        if self.isolation_level != "autocommit":  # the driver sends BEGIN (see original)
            started.append(1)
        await original(self)

    monkeypatch.setattr(pg_asyncpg.AsyncAdapt_asyncpg_connection, "_start_transaction", counting)
    return started


async def test_the_dashboard_reads_without_a_transaction(
    as_role: Any, db_url: str, transactions: list[int]
) -> None:
    owner = await as_role("owner")
    transactions.clear()
    page = await owner.get("/admin/devops")
    assert page.status_code == 200 and "DORA" in page.text
    on_dashboard = len(transactions)
    transactions.clear()
    other = await owner.get("/admin/deployments")
    assert other.status_code == 200
    if db_url.startswith("postgresql"):
        assert on_dashboard == 0  # no BEGIN (nor COMMIT) for the dashboard's dozen reads
        assert len(transactions) >= 1  # an unmarked page keeps its transaction
    api = await owner.get("/api/v1/metrics/dora")
    assert api.status_code == 200 and api.json()["stats"]["total"] == 0
