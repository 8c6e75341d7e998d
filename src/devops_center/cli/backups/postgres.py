"""PostgreSQL: pg_dump, a trial restore in a rolled-back transaction of the live
database, and the restore in one psql transaction."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess  # nosec B404 - runs pg_dump/pg_restore/psql with argument lists
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy.engine import URL

from devops_center.cli.backups.common import (
    BACKUP_TIMEOUT,
    HEARTBEAT_TABLE,
    BackupError,
    BackupInfo,
    check_revision,
    not_ours,
    one_line,
    truncated,
)


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


_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ (TABLE DATA|TABLE) (\S+) (\S+)")


def pg_toc(backup: Path, shown: Path, url: URL) -> tuple[set[str], set[str]]:
    """The tables and the tables with data an archive lists; refuses a non-archive."""
    result = _run([_tool("pg_restore"), "--list", str(backup)], _pg_env(url))
    if result.returncode != 0:
        if "end of file" in result.stderr or "too short" in result.stderr:
            raise truncated(shown, one_line(result.stderr))
        raise not_ours(shown, f"is not a pg_dump archive ({one_line(result.stderr)})")
    tables: set[str] = set()
    data: set[str] = set()
    for line in result.stdout.splitlines():
        match = _TOC_TABLE.match(line)
        if match:
            (data if match.group(1) == "TABLE DATA" else tables).add(match.group(3))
    return tables, data


def pg_dump_revisions(backup: Path, shown: Path, url: URL) -> list[str]:
    """The rows of alembic_version in the archive, read without a database."""
    result = _run(
        [_tool("pg_restore"), "--data-only", "--table=alembic_version", "-f", "-", str(backup)],
        _pg_env(url),
    )
    if result.returncode != 0:
        raise truncated(shown, one_line(result.stderr))
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


def check_pg(backup: Path, shown: Path, url: URL) -> tuple[BackupInfo, set[str]]:
    if backup.stat().st_size == 0:
        raise not_ours(shown, "is empty")
    tables, data = pg_toc(backup, shown, url)
    if "alembic_version" not in tables or "alembic_version" not in data:
        raise not_ours(shown, "is not a dcc database (it has no alembic_version table)")
    check_revision(shown, pg_dump_revisions(backup, shown, url), tables)
    try:
        lines = pg_restore(backup, url, tables, commit=False)
    except _ArchiveBroken as exc:
        raise truncated(shown, f"it does not restore: {exc}") from exc
    except BackupError as exc:
        raise BackupError(
            f"refused: {shown} did not restore on trial ({exc}); the database is unchanged"
        ) from exc
    versions = [line.removeprefix("dcc-revision ") for line in lines if "dcc-revision " in line]
    restored = {line.removeprefix("dcc-table ") for line in lines if "dcc-table " in line}
    info = check_revision(shown, versions, restored)
    return replace(info, checked="a trial restore (rolled back) went through"), tables


def pg_dump(url: URL, output: Path) -> None:
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
        raise BackupError(f"pg_dump failed: {one_line(result.stderr)}")


class _ArchiveBroken(BackupError):
    """pg_restore could not read the archive through (truncated, damaged)."""


LOCK_RETRIES = 5


def pg_restore(backup: Path, url: URL, dump_tables: set[str], *, commit: bool) -> list[str]:
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
        psql_problem = psql_err.read().decode(errors="replace")
        restore_problem = restore_err.read().decode(errors="replace")
    if psql.returncode != 0 and (complete or not restore_problem.strip()):
        # psql stopped first (a deadlock with a running process under --force, say) and
        # pg_restore died silently on the closed pipe: psql's error is the cause
        raise BackupError(one_line(psql_problem))
    if not complete:
        raise _ArchiveBroken(one_line(restore_problem))
    return printed
