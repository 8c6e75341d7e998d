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
import re
import shutil
import sqlite3
import subprocess  # nosec B404 - runs pg_dump/pg_restore/psql with argument lists
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

BACKUP_TIMEOUT = 3600  # seconds a pg tool may take
MANUAL_PREFIXES = ("faq_fts", "sqlite_")  # tables the migrations make that the models don't
HEARTBEAT_TABLE = "process_heartbeats"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that could not be done, with a one-line message for the operator."""


@dataclass(frozen=True)
class BackupInfo:
    """What a checked backup holds."""

    revision: str
    head: str
    tables: int
    checked: str = ""  # how its contents were checked, for the operator

    @property
    def older(self) -> bool:
        return self.revision != self.head


# ---------------------------------------------------------------------------- helpers


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%SZ")


def default_backup_path(database_url: str, var_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if make_url(database_url).get_backend_name() == "sqlite" else "pgdump"
    return var_dir / "backups" / f"dcc-{stamp}.{suffix}"


def _private_dir(path: Path, *, ours: bool) -> None:
    """Create ``path`` 0700; a directory of our own (``var/backups``) is made 0700 too."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
    elif ours:
        path.chmod(0o700)


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only; refuse to overwrite one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise BackupError(f"{path} exists already; choose another file") from exc
    os.close(fd)
    path.chmod(0o600)


def _create_kept(name: Callable[[str], Path]) -> Path:
    """A new private file for a ``before-restore`` copy; ``name(stamp)`` gives its path."""
    stamp = _stamp()
    for n in range(1, 100):
        path = name(stamp if n == 1 else f"{stamp}-{n}")
        with contextlib.suppress(BackupError):
            _create_private(path)
            return path
    raise BackupError(f"cannot create {name(stamp)}: too many restores this second")


def _one_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    line = (errors or lines or ["(no message)"])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _not_ours(shown: Path, why: str) -> BackupError:
    return BackupError(f"refused: {shown} {why}; not a backup made by `dcc backup`")


def _truncated(shown: Path, detail: str) -> BackupError:
    return BackupError(
        f"refused: {shown} is truncated or damaged ({detail}); "
        "take the backup again or use another one"
    )


# -------------------------------------------------------------------------- revisions


@cache
def _revisions() -> tuple[frozenset[str], str]:
    """Every revision of our migration scripts, and the head."""
    from alembic.script import ScriptDirectory

    from devops_center.migrations import runner

    scripts = ScriptDirectory.from_config(runner.alembic_config("sqlite://"))
    head = scripts.get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise BackupError("this dcc has no migration scripts")
    return frozenset(s.revision for s in scripts.walk_revisions()), head


@cache
def expected_tables(revision: str) -> frozenset[str]:
    """The tables a database at ``revision`` has (our models' at head; else migrated)."""
    _known, head = _revisions()
    if revision == head:
        from devops_center.models import Base

        return frozenset(Base.metadata.tables) | {"alembic_version"}
    from devops_center.migrations import runner

    with tempfile.TemporaryDirectory(prefix="dcc-tables-") as scratch:
        path = Path(scratch) / "at-revision.sqlite3"
        runner.upgrade(f"sqlite+aiosqlite:///{path}", revision)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            names = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
    return frozenset(n for n in names if not n.startswith(MANUAL_PREFIXES))


def _check_revision(shown: Path, versions: list[str], tables: set[str]) -> BackupInfo:
    if "alembic_version" not in tables:
        raise _not_ours(shown, "is not a dcc database (it has no alembic_version table)")
    if len(versions) != 1:
        raise _not_ours(shown, f"has {len(versions)} migration revisions instead of one")
    revision = versions[0]
    known, head = _revisions()
    if revision not in known:
        raise BackupError(
            f"refused: {shown} is at revision {revision!r}, which this dcc (head {head}) "
            "does not know; restore it with the dcc version that made it"
        )
    missing = sorted(expected_tables(revision) - tables)
    if missing:
        listed = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
        raise _not_ours(shown, f"lacks {len(missing)} tables of revision {revision} ({listed})")
    return BackupInfo(revision=revision, head=head, tables=len(tables))


# ----------------------------------------------------------------------------- SQLite


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
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
        raise _not_ours(shown, "is empty")
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise _not_ours(shown, "is not a SQLite database")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]
    if page_size < 512 or size % page_size or (counter_valid and pages * page_size > size):
        expected = f" of {pages * page_size}" if counter_valid else ""
        raise _truncated(shown, f"{size}{expected} bytes")


def _forget_processes(conn: sqlite3.Connection, tables: set[str]) -> None:
    if HEARTBEAT_TABLE in tables:
        conn.execute("DELETE FROM process_heartbeats")
        conn.commit()


def _check_sqlite(copy: Path, shown: Path) -> BackupInfo:
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
                _check_revision(shown, versions, tables), checked="integrity check passed"
            )
            _forget_processes(conn, tables)  # the processes that ran then are not running
            conn.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"refused: {shown} is not a sound SQLite database ({exc}); "
            "not a backup made by `dcc backup`"
        ) from exc
    return info


def _sqlite_keep(live: Path) -> Path:
    """Copy the live database to ``<file>.before-restore-<UTC time>`` (0600)."""
    kept = _create_kept(lambda stamp: live.with_name(f"{live.name}.before-restore-{stamp}"))
    try:
        _sqlite_copy(live, kept)
    except sqlite3.DatabaseError:
        # The live file is unreadable (the reason to restore, maybe): keep its bytes.
        shutil.copyfile(live, kept)
        wal = live.with_name(live.name + "-wal")
        if wal.exists():
            kept_wal = kept.with_name(kept.name + "-wal")
            shutil.copyfile(wal, kept_wal)
            kept_wal.chmod(0o600)
    return kept


def _sqlite_apply(copy: Path, live: Path) -> None:
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


# ------------------------------------------------------------------------- PostgreSQL


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    sslmode = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(sslmode, str) and sslmode:
        env["PGSSLMODE"] = sslmode
    return env


def _pg_args(url: URL, database: str | None = None) -> list[str]:
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    return [*args, "--dbname", database or url.database or ""]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client)")
    return path


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our tool, an argument list, no shell
        args, env=env, capture_output=True, text=True, check=False, timeout=BACKUP_TIMEOUT
    )


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ (TABLE DATA|TABLE) (\S+) (\S+)")


def _pg_toc(backup: Path, shown: Path, url: URL) -> tuple[set[str], set[str]]:
    """The tables and the tables with data an archive lists; refuses a non-archive."""
    result = _run([_tool("pg_restore"), "--list", str(backup)], _pg_env(url))
    if result.returncode != 0:
        if "end of file" in result.stderr or "too short" in result.stderr:
            raise _truncated(shown, _one_line(result.stderr))
        raise _not_ours(shown, f"is not a pg_dump archive ({_one_line(result.stderr)})")
    tables: set[str] = set()
    data: set[str] = set()
    for line in result.stdout.splitlines():
        match = _TOC_TABLE.match(line)
        if match:
            (data if match.group(1) == "TABLE DATA" else tables).add(match.group(3))
    return tables, data


def _pg_dump_revisions(backup: Path, shown: Path, url: URL) -> list[str]:
    """The rows of alembic_version in the archive, read without a database."""
    result = _run(
        [_tool("pg_restore"), "--data-only", "--table=alembic_version", "-f", "-", str(backup)],
        _pg_env(url),
    )
    if result.returncode != 0:
        raise _truncated(shown, _one_line(result.stderr))
    rows: list[str] = []
    copying = False
    for line in result.stdout.splitlines():
        if line.startswith("COPY ") and "alembic_version" in line:
            copying = True
        elif copying and line == "\\.":
            copying = False
        elif copying:
            rows.append(line.strip())
    return rows


def _check_pg(backup: Path, shown: Path, url: URL) -> tuple[BackupInfo, set[str]]:
    if backup.stat().st_size == 0:
        raise _not_ours(shown, "is empty")
    tables, data = _pg_toc(backup, shown, url)
    if "alembic_version" not in tables or "alembic_version" not in data:
        raise _not_ours(shown, "is not a dcc database (it has no alembic_version table)")
    _check_revision(shown, _pg_dump_revisions(backup, shown, url), tables)
    try:
        lines = _pg_restore(backup, url, tables, commit=False)
    except _ArchiveBroken as exc:
        raise _truncated(shown, f"it does not restore: {exc}") from exc
    except BackupError as exc:
        raise BackupError(
            f"refused: {shown} did not restore on trial ({exc}); the database is unchanged"
        ) from exc
    versions = [line.removeprefix("dcc-revision ") for line in lines if "dcc-revision " in line]
    restored = {line.removeprefix("dcc-table ") for line in lines if "dcc-table " in line}
    info = _check_revision(shown, versions, restored)
    return replace(info, checked="a trial restore (rolled back) went through"), tables


def _pg_dump(url: URL, output: Path) -> None:
    result = _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--exclude-table-data={HEARTBEAT_TABLE}",
            "--file",
            str(output),
            *_pg_args(url),
        ],
        _pg_env(url),
    )
    if result.returncode != 0:
        output.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {_one_line(result.stderr)}")


class _ArchiveBroken(BackupError):
    """pg_restore could not read the archive through (truncated, damaged)."""


LOCK_RETRIES = 5


def _pg_restore(backup: Path, url: URL, dump_tables: set[str], *, commit: bool) -> list[str]:
    """:func:`_pg_restore_in_transaction`, tried again when it lost a deadlock.

    Under ``--force`` running processes hold locks on our tables; the restore takes them
    all first, in one order, but a process that waits for one of them while holding
    another can still make the server abort one side. That side tries again.
    """
    for attempt in range(1, LOCK_RETRIES + 1):
        try:
            return _pg_restore_in_transaction(backup, url, dump_tables, commit=commit)
        except _ArchiveBroken:
            raise
        except BackupError as exc:
            if "deadlock detected" not in str(exc) or attempt == LOCK_RETRIES:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


# Every table of the schema, locked first and in one (sorted) order, so that the restore
# never waits for a lock half-way while holding others.
_LOCK_TABLES = b"""
DO $dcc$ DECLARE t text; BEGIN
  FOR t IN SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'
           ORDER BY tablename LOOP
    EXECUTE format('LOCK TABLE public.%I IN ACCESS EXCLUSIVE MODE', t);
  END LOOP;
END $dcc$;
"""


# Read back inside the trial transaction, before it is rolled back.
_TRIAL_CHECK = """
SELECT 'dcc-revision ' || version_num FROM public.alembic_version;
SELECT 'dcc-table ' || tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public';
ROLLBACK;
"""


def _pg_restore_in_transaction(
    backup: Path, url: URL, dump_tables: set[str], *, commit: bool
) -> list[str]:
    """Drop our tables and restore the archive in one transaction of the live database.

    Every table, sequence and function of the live schema is dropped first, in the same
    transaction, then the archive is created. ``commit=False`` is a
    trial: it reads back the revision and the tables, then rolls back (what psql printed is
    returned). With ``commit=True``, COMMIT is sent only when pg_restore produced the whole
    script; any error before it leaves the database as it was.
    """
    # Everything of the live schema goes first (inside the transaction: a failure leaves it
    # as it was): a newer schema's tables and the constraints later migrations added to
    # older tables would otherwise stand in the way of the archive's own objects.
    drop_all = b"""
DO $dcc$ DECLARE r record; BEGIN
  FOR r IN SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT sequencename FROM pg_catalog.pg_sequences WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS public.%I CASCADE', r.sequencename);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_catalog.pg_proc p
           JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' LOOP
    EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.fn);
  END LOOP;
END $dcc$;
"""
    env = _pg_env(url)
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as restore_err,
        tempfile.TemporaryFile() as psql_err,
    ):
        psql = subprocess.Popen(  # noqa: S603 - our tool, an argument list, no shell
            [_tool("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *_pg_args(url)],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=psql_err,
            env=env,
        )
        restore = subprocess.Popen(  # noqa: S603 - our tool, an argument list, no shell
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "-f",
                "-",
                str(backup),
            ],
            stdout=subprocess.PIPE,
            stderr=restore_err,
            env=env,
        )
        assert psql.stdin is not None and restore.stdout is not None
        complete = False
        try:
            psql.stdin.write(b"SET client_min_messages = warning;\nBEGIN;\n")
            psql.stdin.write(_LOCK_TABLES)
            psql.stdin.write(drop_all)
            shutil.copyfileobj(restore.stdout, psql.stdin, 1 << 16)
            complete = restore.wait(timeout=BACKUP_TIMEOUT) == 0
            if complete:
                psql.stdin.write(b"COMMIT;\n" if commit else _TRIAL_CHECK.encode())
        except BrokenPipeError:  # psql stopped at an error: it rolls back
            pass
        finally:
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
            if restore.poll() is None:
                restore.kill()
            restore.wait()
            restore.stdout.close()
            psql.wait(timeout=BACKUP_TIMEOUT)
        for f in (out, restore_err, psql_err):
            f.seek(0)
        printed = out.read().decode(errors="replace").splitlines()
        problem = (psql_err if complete else restore_err).read().decode(errors="replace")
    if psql.returncode != 0 or not complete:
        raise (BackupError if complete else _ArchiveBroken)(_one_line(problem))
    return printed


# ------------------------------------------------------------------------------ backup


def backup_database(database_url: str, output: Path, *, ours: bool = False) -> BackupInfo:
    """Write a consistent copy of the database to ``output`` (0600); what it holds.

    ``ours``: ``output`` is in our own backups directory, which is kept 0700.
    """
    url = make_url(database_url)
    _private_dir(output.parent, ours=ours)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"no database at {source}")
        _create_private(output)
        try:
            _sqlite_copy(source, output)
            with contextlib.closing(sqlite3.connect(output)) as conn:
                tables = {
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
                _forget_processes(conn, tables)  # which processes ran is not worth restoring
                versions = (
                    [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
                    if "alembic_version" in tables
                    else []
                )
        except BaseException:
            output.unlink(missing_ok=True)
            raise
    else:
        _create_private(output)  # pg_dump writes into it and keeps its mode
        _pg_dump(url, output)
        tables, _data = _pg_toc(output, output, url)
        versions = _pg_dump_revisions(output, output, url)
    _known, head = _revisions()
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
            live = _sqlite_path(url)
            return _sqlite_keep(live) if live.exists() else None
        backups = var_dir / "backups"
        _private_dir(backups, ours=True)
        kept = _create_kept(lambda stamp: backups / f"{url.database}.before-restore-{stamp}.pgdump")
        try:
            _pg_dump(url, kept)
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
            _sqlite_apply(self.sqlite_copy, _sqlite_path(url))
        else:
            try:
                _pg_restore(self.backup, url, set(self.dump_tables), commit=True)
            except BackupError as exc:
                raise BackupError(f"restore failed, the database is unchanged: {exc}") from exc


@contextlib.contextmanager
def prepare_restore(database_url: str, backup: Path) -> Iterator[PreparedRestore]:
    """Check ``backup`` without touching the live database; refuses with :class:`BackupError`."""
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        info, tables = _check_pg(backup, backup, url)
        yield PreparedRestore(database_url, backup, info, dump_tables=frozenset(tables))
        return
    live = _sqlite_path(url)
    _private_dir(live.parent, ours=False)
    fd, name = tempfile.mkstemp(prefix=f".{live.name}.restore-", suffix=".tmp", dir=live.parent)
    os.close(fd)
    copy = Path(name)
    try:
        shutil.copyfile(backup, copy)
        info = _check_sqlite(copy, backup)
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
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
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
