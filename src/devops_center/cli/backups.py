"""``dcc backup`` and ``dcc restore``: SQLite online backup, PostgreSQL pg_dump/pg_restore.

SQLite is copied with its online backup API, so a backup taken while the app runs is
consistent. PostgreSQL uses ``pg_dump --format=custom`` and ``pg_restore --clean``; the
password travels in ``PGPASSWORD``, never on the command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 - runs pg_dump/pg_restore with argument lists
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """A backup or restore that could not be done, with a message for the operator."""


def default_backup_path(database_url: str, var_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if make_url(database_url).get_backend_name() == "sqlite" else "pgdump"
    return var_dir / "backups" / f"dcc-{stamp}.{suffix}"


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client)")
    return path


def backup_database(database_url: str, output: Path) -> Path:
    """Write a consistent copy of the database to ``output``; returns the path."""
    url = make_url(database_url)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise BackupError(f"{output} exists already; choose another file")
    if url.get_backend_name() == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"no database at {source_path}")
        source = sqlite3.connect(source_path)
        target = sqlite3.connect(output)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return output
    args, env = _pg_args(url)
    result = subprocess.run(  # noqa: S603 - fixed tool, argument list, no shell
        [
            _tool("pg_dump"),
            *args,
            "--format=custom",
            "--no-owner",
            "--file",
            str(output),
            url.database or "",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    return output


def restore_database(database_url: str, backup: Path) -> None:
    """Replace the database's contents with ``backup`` (stop the app first)."""
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        target_path = _sqlite_path(url)
        source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{backup} is not a sound SQLite database")
        except sqlite3.DatabaseError as exc:
            source.close()
            raise BackupError(f"{backup} is not a SQLite database: {exc}") from exc
        target_path.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    args, env = _pg_args(url)
    result = subprocess.run(  # noqa: S603 - fixed tool, argument list, no shell
        [
            _tool("pg_restore"),
            *args,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            url.database or "",
            str(backup),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")
