"""A scratch PostgreSQL database for one benchmark run: :func:`create` makes it empty
(None when the server cannot be reached: the bench skips PostgreSQL), :func:`drop`
removes it, :func:`asyncpg_url` gives SQLAlchemy's URL for it."""

from __future__ import annotations

import os
import uuid

import asyncpg

# the server's maintenance database, to create and drop the scratch ones from
ADMIN_DSN = os.environ.get("DCC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def create(prefix: str = "dcc_bench", admin: str = ADMIN_DSN) -> str | None:
    """A new empty database's DSN (``postgresql://…``); None, printed why, when the
    server cannot be reached."""
    try:
        conn = await asyncpg.connect(admin, timeout=5)
    except Exception as exc:  # refused, unknown host, auth, timeout: a skip
        print(f"  postgresql unavailable ({type(exc).__name__}: {exc}): skipped", flush=True)
        return None
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{admin.rsplit('/', 1)[0]}/{name}"


async def drop(dsn: str, admin: str = ADMIN_DSN) -> None:
    """Drop the database ``create`` made (its connections closed first)."""
    conn = await asyncpg.connect(admin, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def asyncpg_url(dsn: str) -> str:
    """The SQLAlchemy URL of a ``postgresql://`` DSN."""
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
