"""SQLite: the online backup API for copies, an integrity check, and the switch in one
write transaction of the live file."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

from sqlalchemy.engine import URL

from devops_center.cli.backups.common import (
    HEARTBEAT_TABLE,
    SQLITE_MAGIC,
    BackupError,
    BackupInfo,
    check_revision,
    create_kept,
    not_ours,
    truncated,
)


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy through the online backup API, made a self-contained file."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # no -wal/-shm beside the copy


def _sqlite_header(path: Path, shown: Path) -> None:
    """Refuse what is not a whole SQLite file: empty, foreign or cut short."""
    size = path.stat().st_size
    if size == 0:
        raise not_ours(shown, "is empty")
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise not_ours(shown, "is not a SQLite database")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]
    if page_size < 512 or size % page_size or (counter_valid and pages * page_size > size):
        expected = f" of {pages * page_size}" if counter_valid else ""
        raise truncated(shown, f"{size}{expected} bytes")


def forget_processes(conn: sqlite3.Connection, tables: set[str]) -> None:
    if HEARTBEAT_TABLE in tables:
        conn.execute("DELETE FROM process_heartbeats")
        conn.commit()


def check_sqlite(copy: Path, shown: Path) -> BackupInfo:
    """Check a private copy of a backup; make it ready to apply (no heartbeats, no WAL)."""
    _sqlite_header(copy, shown)
    try:
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            conn.execute("PRAGMA trusted_schema=OFF")
            conn.execute("PRAGMA cell_size_check=ON")
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise BackupError(
                    f"refused: {shown} fails SQLite's integrity check ({problems[0]}); "
                    "take the backup again or use another one"
                )
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            versions = (
                [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
                if "alembic_version" in tables
                else []
            )
            info = replace(
                check_revision(shown, versions, tables), checked="integrity check passed"
            )
            forget_processes(conn, tables)  # the processes that ran then are not running
            conn.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"refused: {shown} is not a sound SQLite database ({exc}); "
            "not a backup made by `dcc backup`"
        ) from exc
    return info


def sqlite_keep(live: Path) -> Path:
    """Copy the live database to ``<file>.before-restore-<UTC time>`` (0600)."""
    kept = create_kept(lambda stamp: live.with_name(f"{live.name}.before-restore-{stamp}"))
    try:
        sqlite_copy(live, kept)
    except sqlite3.DatabaseError:
        # The live file is unreadable (the reason to restore, maybe): keep its bytes.
        shutil.copyfile(live, kept)
        wal = live.with_name(live.name + "-wal")
        if wal.exists():
            kept_wal = kept.with_name(kept.name + "-wal")
            shutil.copyfile(wal, kept_wal)
            kept_wal.chmod(0o600)
    return kept


def sqlite_apply(copy: Path, live: Path) -> None:
    """Write ``copy`` over ``live`` in one write transaction of the live database."""
    try:
        with (
            contextlib.closing(sqlite3.connect(copy)) as src,
            contextlib.closing(sqlite3.connect(live, timeout=30)) as dst,
        ):
            src.backup(dst)
        return
    except sqlite3.DatabaseError as exc:
        if "not a database" not in str(exc) and "malformed" not in str(exc):
            raise BackupError(f"restore failed, the database is unchanged: {exc}") from exc
    # The live file is not a usable database: swap the files instead (atomic rename).
    for suffix in ("-wal", "-shm", "-journal"):
        live.with_name(live.name + suffix).unlink(missing_ok=True)
    os.replace(copy, live)
