"""Writing a batch of deployments in a few statements: the row of one item of a batch
(:class:`Item`), the dialect's INSERT, COPY on PostgreSQL, ids drawn in one statement,
and jobs enqueued in one statement. Used by :mod:`.registration` and
:mod:`.batch_incidents`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import await_only

from devops_center.deployments.models import Deployment
from devops_center.deployments.schemas import CommitIn, DeploymentIn
from devops_center.outbox.models import Job
from devops_center.outbox.registry import JobMessage


@dataclass
class Item:
    pos: int
    data: DeploymentIn
    values: dict[str, Any]
    head_commit: CommitIn | None
    id: int = 0
    created: bool = True
    previous_status: str | None = None
    row: Deployment | None = None  # loaded only when it was already stored
    # the row as stored after this item (for the incident rules)
    service: str = ""
    environment: str = ""
    status: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None
    commit_sha: str = ""
    commit_message: str | None = None


def table_of(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_fn(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# From this many rows on PostgreSQL, new rows are sent with COPY (several times faster
# than INSERT … VALUES for the thousands of rows of an import batch).
COPY_FROM = 200


def copying(session: AsyncSession, rows: int) -> bool:
    return rows >= COPY_FROM and session.get_bind().dialect.name == "postgresql"


def _copy(driver: Any, table: Table, columns: list[str], records: list[tuple[Any, ...]]) -> Any:
    """asyncpg's COPY of ``records`` (tuples in the order of ``columns``) into
    ``table``: the awaitable."""
    assert driver is not None
    return driver.copy_records_to_table(table.name, records=records, columns=columns)


async def copy_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY ``rows`` (dicts of the same keys) into ``table`` on the session's connection,
    so inside its transaction."""
    columns = list(rows[0])
    record = itemgetter(*columns) if len(columns) > 1 else lambda r: (r[columns[0]],)
    await copy_records(session, table, columns, [record(r) for r in rows])


async def copy_records(
    session: AsyncSession, table: Table, columns: list[str], records: list[tuple[Any, ...]]
) -> None:
    """:func:`copy_rows` of tuples in the order of ``columns`` (no dict per row)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await _copy(raw.driver_connection, table, columns, records)


def copy_records_sync(
    conn: Connection, table: Table, columns: list[str], records: list[tuple[Any, ...]]
) -> None:
    """:func:`copy_records` from the synchronous side of an async session (a flush or
    commit hook), in the connection's transaction."""
    await_only(_copy(conn.connection.driver_connection, table, columns, records))


async def new_ids(session: AsyncSession, table: Table, n: int) -> list[int]:
    """``n`` ids of ``table``'s sequence (PostgreSQL). The sequence is looked up once: in
    ``nextval(pg_get_serial_sequence(…))`` the look-up runs for every row (10× the cost
    of the ids themselves)."""
    stmt = text(
        "WITH s AS MATERIALIZED "
        "(SELECT CAST(pg_get_serial_sequence(:t, 'id') AS regclass) AS seq) "
        "SELECT nextval(s.seq) FROM s, generate_series(1, :n)"
    ).bindparams(t=table.name, n=n)
    return [int(x) for x in (await session.execute(stmt)).scalars()]


def job_row(message: JobMessage, unique_key: str, now: datetime) -> dict[str, Any]:
    return {
        "kind": message.kind,
        "payload": message.model_dump(mode="json", exclude_defaults=True),
        "unique_key": unique_key,
        "run_after": now,
        "max_attempts": 10,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue_all(session: AsyncSession, jobs: list[dict[str, Any]]) -> None:
    """``outbox.enqueue`` of many jobs with unique keys, in one statement."""
    stmt = insert_fn(session)(table_of(Job)).on_conflict_do_nothing(index_elements=["unique_key"])
    await session.execute(stmt, jobs)
