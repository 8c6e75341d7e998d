"""``dcc backup`` and ``dcc restore``: SQLite online backup, PostgreSQL pg_dump/pg_restore.

A backup is a consistent copy: SQLite's online backup API, or ``pg_dump --format=custom``.
Backup files are created 0600, in a directory created 0700.

A restore takes only a file ``dcc backup`` made, and checks it before it touches the live
database (:func:`prepare_restore`): a database of the right kind, integrity checked, with
an ``alembic_version`` row that names a revision of our migration scripts, and every table
that revision has. A PostgreSQL dump is also restored once on trial, in a transaction of
the live database that is always rolled back, so a damaged or truncated dump is refused
there (a scratch database would need CREATEDB, and dropping it makes the whole server
checkpoint). Then :class:`PreparedRestore` keeps the
database it replaces (SQLite: ``<file>.before-restore-<UTC time>`` beside it; PostgreSQL:
a pg_dump in ``$DCC_VAR_DIR/backups``) and replaces it in one transaction: SQLite's backup
API writes the whole copy in one write transaction of the live file (its rollback journal
or WAL protects it, and other connections see the switch), PostgreSQL runs the drop and
the restore in one ``psql`` transaction committed only when pg_restore read the whole
dump. A failure at any point leaves the live database as it was.

PostgreSQL passwords travel in ``PGPASSWORD``, never on a command line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from devops_center.cli.backups.common import (
    HEARTBEAT_TABLE,
    BackupError,
    BackupInfo,
    create_kept,
    create_private,
    default_backup_path,
    private_dir,
    revisions,
)
from devops_center.cli.backups.postgres import (
    check_pg,
    pg_dump,
    pg_dump_revisions,
    pg_restore,
    pg_toc,
)
from devops_center.cli.backups.sqlite import (
    check_sqlite,
    forget_processes,
    sqlite_apply,
    sqlite_copy,
    sqlite_keep,
    sqlite_path,
)

__all__ = [
    "BackupError",
    "BackupInfo",
    "PreparedRestore",
    "backup_database",
    "default_backup_path",
    "prepare_restore",
    "processes_using",
]


# ------------------------------------------------------------------------------ backup


def backup_database(database_url: str, output: Path, *, ours: bool = False) -> BackupInfo:
    """Write a consistent copy of the database to ``output`` (0600); what it holds.

    ``ours``: ``output`` is in our own backups directory, which is kept 0700.
    """
    url = make_url(database_url)
    private_dir(output.parent, ours=ours)
    if url.get_backend_name() == "sqlite":
        source = sqlite_path(url)
        if not source.exists():
            raise BackupError(f"no database at {source}")
        create_private(output)
        try:
            sqlite_copy(source, output)
            with contextlib.closing(sqlite3.connect(output)) as conn:
                tables = {
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
                forget_processes(conn, tables)  # which processes ran is not worth restoring
                versions = (
                    [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
                    if "alembic_version" in tables
                    else []
                )
        except BaseException:
            output.unlink(missing_ok=True)
            raise
    else:
        create_private(output)  # pg_dump writes into it and keeps its mode
        pg_dump(url, output)
        tables, _data = pg_toc(output, output, url)
        versions = pg_dump_revisions(output, output, url)
    _known, head = revisions()
    return BackupInfo(revision=", ".join(versions) or "none", head=head, tables=len(tables))


# ----------------------------------------------------------------------------- restore


@dataclass
class PreparedRestore:
    """A checked backup, ready to replace the live database."""

    database_url: str
    backup: Path
    info: BackupInfo
    sqlite_copy: Path | None = None
    dump_tables: frozenset[str] = frozenset()

    def keep_current(self, var_dir: Path) -> Path | None:
        """Copy the live database aside; where to (None: there is no database yet)."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            live = sqlite_path(url)
            return sqlite_keep(live) if live.exists() else None
        backups = var_dir / "backups"
        private_dir(backups, ours=True)
        kept = create_kept(lambda stamp: backups / f"{url.database}.before-restore-{stamp}.pgdump")
        try:
            pg_dump(url, kept)
        except BackupError as exc:
            raise BackupError(
                f"nothing restored: keeping the current database failed ({exc})"
            ) from exc
        return kept

    def replace_current(self) -> None:
        """Replace the live database with the checked backup, all or nothing."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            assert self.sqlite_copy is not None
            sqlite_apply(self.sqlite_copy, sqlite_path(url))
        else:
            try:
                pg_restore(self.backup, url, set(self.dump_tables), commit=True)
            except BackupError as exc:
                raise BackupError(f"restore failed, the database is unchanged: {exc}") from exc


@contextlib.contextmanager
def prepare_restore(database_url: str, backup: Path) -> Iterator[PreparedRestore]:
    """Check ``backup`` without touching the live database; refuses with :class:`BackupError`."""
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        info, tables = check_pg(backup, backup, url)
        yield PreparedRestore(database_url, backup, info, dump_tables=frozenset(tables))
        return
    live = sqlite_path(url)
    private_dir(live.parent, ours=False)
    fd, name = tempfile.mkstemp(prefix=f".{live.name}.restore-", suffix=".tmp", dir=live.parent)
    os.close(fd)
    copy = Path(name)
    try:
        shutil.copyfile(backup, copy)
        info = check_sqlite(copy, backup)
        yield PreparedRestore(database_url, backup, info, sqlite_copy=copy)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            copy.with_name(copy.name + suffix).unlink(missing_ok=True)


async def processes_using(database_url: str) -> list[str]:
    """The web, worker and bot processes whose heartbeat is fresh in this database."""
    from sqlalchemy.exc import DBAPIError

    from devops_center.db import make_engine, make_sessionmaker
    from devops_center.processes import service as processes

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not sqlite_path(url).exists():
        return []
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table(HEARTBEAT_TABLE)):
                return []  # an older schema: its processes leave no heartbeat
        async with make_sessionmaker(engine)() as session:
            return [processes.describe(p) for p in await processes.alive(session)]
    except (DBAPIError, OSError) as exc:
        raise BackupError(f"cannot read the database to see who uses it ({exc})") from exc
    finally:
        await engine.dispose()
