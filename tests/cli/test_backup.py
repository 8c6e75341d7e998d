"""dcc backup / dcc restore on SQLite and PostgreSQL: round trip, and every refusal.

Each test restores into a database of its own (``databases``), migrated like a real one,
so that a refused or a forced restore never touches the suite's shared database. The
commands run in-process through Typer's runner (each in its own event loop), except where
a separate process is the point (a running worker, a restore killed half-way).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner, Result

from devops_center.cli import app
from devops_center.db import make_engine, make_sessionmaker
from devops_center.migrations import runner
from devops_center.processes import service as processes
from devops_center.processes.models import ProcessHeartbeat
from devops_center.users import service as users
from devops_center.users.models import User
from tests.conftest import PG_HOST, PG_PASSWORD, PG_PORT, PG_USER, _pg_dsn

NewDatabase = Callable[..., str]


def dcc(*args: str, env: dict[str, str]) -> Result:
    """Run ``dcc ARGS`` in-process: exit code, stdout and stderr apart."""
    return CliRunner().invoke(app, list(args), env=env)


def env_for(url: str, var_dir: Path) -> dict[str, str]:
    return {"DATABASE_URL": url, "DCC_VAR_DIR": str(var_dir), "DCC_CONFIG": ""}


def admin(sql: str) -> list[Any]:
    async def go() -> list[Any]:
        conn = await asyncpg.connect(_pg_dsn())
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.fixture
def databases(db_url: str, tmp_path: Path) -> Iterator[NewDatabase]:
    """``databases(revision="head")`` → the URL of a new database of this run's kind."""
    made: list[str] = []

    def new(revision: str | None = "head") -> str:
        name = f"dcc_bk_{uuid.uuid4().hex[:10]}"
        if db_url.startswith("sqlite"):
            url = f"sqlite+aiosqlite:///{tmp_path / 'db' / name}.sqlite3"
            (tmp_path / "db").mkdir(exist_ok=True)
        else:
            admin(f'CREATE DATABASE "{name}"')
            made.append(name)
            auth = PG_USER + (f":{PG_PASSWORD}" if PG_PASSWORD else "")
            url = f"postgresql+asyncpg://{auth}@{PG_HOST}:{PG_PORT}/{name}"
        if revision:
            runner.upgrade(url, revision)
        return url

    yield new
    for name in made:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def in_session(url: str, fn: Callable[[Any], Any]) -> Any:
    """``fn(session)`` in one transaction of the database at ``url``, in a loop of its own."""

    async def go() -> Any:
        engine = make_engine(url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                return await fn(s)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def add_user(url: str, name: str) -> None:
    in_session(url, lambda s: users.create_user(s, name=name, email=f"{name.lower()}@test.local"))


def user_names(url: str) -> list[str]:
    async def names(s: Any) -> list[str]:
        return sorted((await s.execute(select(User.name))).scalars())

    return list(in_session(url, names))


def execute(url: str, sql: str) -> None:
    in_session(url, lambda s: s.execute(text(sql)))


def heartbeats(url: str) -> list[ProcessHeartbeat]:
    async def rows(s: Any) -> list[ProcessHeartbeat]:
        return list((await s.execute(select(ProcessHeartbeat))).scalars())

    return list(in_session(url, rows))


def alive_kinds(url: str) -> list[str]:
    async def kinds(s: Any) -> list[str]:
        return [p.kind for p in await processes.alive(s)]

    return list(in_session(url, kinds))


def kept_copies(url: str, var_dir: Path) -> list[Path]:
    """The ``*.before-restore-*`` files a restore into ``url`` left."""
    if url.startswith("sqlite"):
        live = Path(url.split("///", 1)[1])
        return sorted(live.parent.glob(f"{live.name}.before-restore-*"))
    return sorted((var_dir / "backups").glob("*.before-restore-*"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def suffix(url: str) -> str:
    return "sqlite3" if url.startswith("sqlite") else "pgdump"


def need_pg_tools(url: str) -> None:
    if not url.startswith("sqlite") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")


# ----------------------------------------------------------------------- round trip


def test_backup_and_restore_round_trip(databases: NewDatabase, tmp_path: Path) -> None:
    live = databases()
    need_pg_tools(live)
    add_user(live, "Kept")
    var = tmp_path / "var"
    env = env_for(live, var)
    # a process that stopped a while ago (not alive, not yet forgotten)
    gone = processes.this_process("web")
    long_ago = gone.started_at - processes.ALIVE_WITHIN * 2
    in_session(live, lambda s: processes.beat(s, who=gone, now=long_ago))

    made = dcc("backup", env=env)  # the default place: var/backups, 0700
    assert made.exit_code == 0, made.stderr
    (backup,) = (var / "backups").glob(f"dcc-*.{suffix(live)}")
    assert f"backup written to {backup}" in made.stdout
    assert mode(backup) == 0o600
    assert mode(var / "backups") == 0o700

    elsewhere = tmp_path / "new-dir" / "sub" / f"copy.{suffix(live)}"
    again = dcc("backup", "--output", str(elsewhere), env=env)
    assert again.exit_code == 0, again.stderr
    assert mode(elsewhere) == 0o600 and mode(elsewhere.parent) == 0o700
    assert mode(tmp_path / "new-dir") == 0o700  # every directory it made
    twice = dcc("backup", "--output", str(elsewhere), env=env)
    assert twice.exit_code == 2 and "exists already" in twice.stderr

    add_user(live, "Later")
    restored = dcc("restore", str(backup), "--yes", env=env)
    assert restored.exit_code == 0, restored.stderr
    assert user_names(live) == ["Kept"]
    assert heartbeats(live) == []  # backups leave out which processes ran
    (kept,) = kept_copies(live, var)
    assert f"the database it replaces is kept at {kept}" in restored.stdout
    assert mode(kept) == 0o600

    # the kept copy is itself a backup: restoring it brings "Later" back
    back = dcc("restore", str(kept), "--yes", env=env)
    assert back.exit_code == 0, back.stderr
    assert user_names(live) == ["Kept", "Later"]


# ------------------------------------------------------------------------- refusals


def bad_backups(live: str, good: Path, tmp_path: Path) -> dict[str, Path]:
    """Files ``dcc restore`` must refuse, by what they are."""
    bad = tmp_path / "bad"
    bad.mkdir()
    files = {name: bad / name for name in ("empty", "random", "foreign-sqlite")}
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(os.urandom(64 * 1024))
    with sqlite3.connect(files["foreign-sqlite"]) as conn:  # someone else's database
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('not ours')")

    data = good.read_bytes()
    files["truncated"] = bad / "truncated"
    files["truncated"].write_bytes(data[:-10])  # the end of its last data cut off
    files["half"] = bad / "half"
    files["half"].write_bytes(data[: len(data) // 2])

    # a database of the right kind with a known alembic_version but not our tables
    files["foreign-db"] = bad / "foreign-db"
    if live.startswith("sqlite"):
        with sqlite3.connect(files["foreign-db"]) as conn:
            conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            conn.execute("INSERT INTO alembic_version VALUES (?)", (runner_head(),))
            conn.execute("CREATE TABLE notes (body TEXT)")
    else:  # a dump of alembic_version alone
        database = live.rsplit("/", 1)[1]
        connect = ["-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", database]
        only = ["-t", "alembic_version", "-f", str(files["foreign-db"])]
        pg_dump = ["pg_dump", "-Fc", *connect, *only]
        subprocess.run(pg_dump, env={**os.environ, "PGPASSWORD": PG_PASSWORD}, check=True)
    # ours, but from a newer dcc whose migration this code does not have
    files["unknown-revision"] = bad / "unknown-revision"
    execute(live, "UPDATE alembic_version SET version_num = 'ffff0000beef'")
    made = dcc("backup", "--output", str(files["unknown-revision"]), env=env_for(live, bad))
    execute(live, f"UPDATE alembic_version SET version_num = '{runner_head()}'")
    assert made.exit_code == 0, made.stderr
    return files


def runner_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(runner.alembic_config("sqlite://")).get_current_head()
    assert head
    return head


EXPECTED = {
    "empty": "is empty",
    "random": "not a",  # not a SQLite database / not a pg_dump archive
    "foreign-sqlite": "not a",
    "truncated": "truncated",
    "half": "truncated",
    "foreign-db": "lacks",
    "unknown-revision": "'ffff0000beef', which this dcc",
}


def test_restore_refuses_anything_but_a_dcc_backup(databases: NewDatabase, tmp_path: Path) -> None:
    live = databases()
    need_pg_tools(live)
    add_user(live, "Live")
    var = tmp_path / "var"
    env = env_for(live, var)
    good = tmp_path / f"good.{suffix(live)}"
    assert dcc("backup", "--output", str(good), env=env).exit_code == 0

    files = bad_backups(live, good, tmp_path)
    for name, path in files.items():
        result = dcc("restore", str(path), "--yes", env=env)
        assert result.exit_code == 2, (name, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("refused: "), (name, result.stderr)
        assert EXPECTED[name] in lines[0], (name, lines[0])
        if name == "truncated" and not live.startswith("sqlite"):  # its tables list is whole:
            assert "it does not restore" in lines[0]  # the trial restore found the cut
        assert "database restored" not in result.stdout
        assert user_names(live) == ["Live"], name  # untouched
        assert kept_copies(live, var) == [], name  # nothing replaced, nothing kept

    missing = dcc("restore", str(tmp_path / "nope"), "--yes", env=env)
    assert missing.exit_code == 2 and "no backup file" in missing.stderr
    assert dcc("db", "current", env=env).stdout.strip() == f"{runner_head()} (head)"


def test_restore_of_an_older_revision_asks_for_an_upgrade(
    databases: NewDatabase, tmp_path: Path
) -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(runner.alembic_config("sqlite://"))
    first = next(iter(scripts.get_bases()))
    if first == runner_head():
        pytest.skip("only one migration")
    live = databases(revision=first)
    need_pg_tools(live)
    execute(
        live,
        "INSERT INTO users (name, email, created_at, updated_at) "
        "VALUES ('Old', 'old@test.local', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    backup = tmp_path / f"old.{suffix(live)}"
    assert dcc("backup", "--output", str(backup), env=env_for(live, tmp_path)).exit_code == 0
    runner.upgrade(live)  # this dcc's schema, and data made since
    add_user(live, "Current")

    env = env_for(live, tmp_path / "var")
    restored = dcc("restore", str(backup), "--yes", env=env)
    assert restored.exit_code == 0, restored.stderr
    assert f"older than this dcc ({runner_head()}): run `dcc db upgrade`" in restored.stdout
    assert dcc("db", "current", env=env).stdout.strip() == first
    upgraded = dcc("db", "upgrade", env=env)
    assert upgraded.exit_code == 0, upgraded.stderr
    assert user_names(live) == ["Old"]


# ------------------------------------------------------------------- running processes


@contextlib.contextmanager
def running_worker(url: str, tmp_path: Path) -> Iterator[None]:
    """The worker loop (``dcc worker``'s) on a thread of its own, until the block ends."""
    from devops_center.worker import run_worker
    from tests.conftest import make_settings

    settings = make_settings(url, tmp_path)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()

    async def main() -> None:
        engine = make_engine(url, pool_size=2)
        try:
            await run_worker(settings, make_sessionmaker(engine), stop=stop, concurrency=1)
        finally:
            await engine.dispose()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)
        loop.close()


def test_restore_refused_while_a_worker_runs_unless_forced(
    databases: NewDatabase, tmp_path: Path
) -> None:
    live = databases()
    need_pg_tools(live)
    var = tmp_path / "var"
    env = env_for(live, var)
    add_user(live, "Before")
    backup = tmp_path / f"b.{suffix(live)}"
    assert dcc("backup", "--output", str(backup), env=env).exit_code == 0
    add_user(live, "After")

    # a heartbeat older than two beats is a process that is gone: no obstacle
    gone = processes.this_process("bot")
    long_ago = gone.started_at - processes.ALIVE_WITHIN * 2
    in_session(live, lambda s: processes.beat(s, who=gone, now=long_ago))

    with running_worker(live, tmp_path):
        deadline = time.monotonic() + 60
        while not alive_kinds(live):
            assert time.monotonic() < deadline, "the worker left no heartbeat"
            time.sleep(0.2)
        assert alive_kinds(live) == ["worker"]

        refused = dcc("restore", str(backup), "--yes", env=env)
        assert refused.exit_code == 2
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("refused: 1 process(es) use this database (worker pid ")
        assert f"pid {os.getpid()} " in line and line.endswith("or pass --force")
        assert user_names(live) == ["After", "Before"]
        assert kept_copies(live, var) == []

        forced = dcc("restore", str(backup), "--yes", "--force", env=env)
        assert forced.exit_code == 0, forced.stderr
        assert "--force: going on although 1 process(es) use this database" in forced.stderr
        assert user_names(live) == ["Before"]
        assert len(kept_copies(live, var)) == 1
    assert alive_kinds(live) == []  # a clean stop removes the heartbeat


# ----------------------------------------------------------------- SQLite atomicity


def test_sqlite_restore_killed_half_way_leaves_a_sound_database(
    db_url: str, databases: NewDatabase, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL restores in one transaction of the server")
    live = databases()
    add_user(live, "Old")
    big = databases()
    add_user(big, "New")
    execute(  # ~8 MB, so that the copy takes a while
        big,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) "
        "INSERT INTO cache_entries (key, value, expires_at) "
        "SELECT 'filler-' || i, json_quote(hex(randomblob(500))), '2999-01-01' FROM n",
    )
    backup = tmp_path / "big.sqlite3"
    assert dcc("backup", "--output", str(backup), env=env_for(big, tmp_path)).exit_code == 0
    env = env_for(live, tmp_path / "var")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devops_center", "restore", str(backup), "--yes"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "is kept at" in line:  # the copy into the live database starts now
            break
    path = Path(live.split("///", 1)[1])
    wal = path.with_name(path.name + "-wal")
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 1 << 20:  # pages of the copy are written
            proc.kill()
            break
        time.sleep(0.001)
    killed_while_writing = proc.wait() == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    if killed_while_writing:
        assert user_names(live) == ["Old"]  # the copy had not committed: none of it shows
    else:  # it finished before we could catch it
        assert user_names(live) == ["New"]


def test_a_damaged_sqlite_database_can_be_replaced(
    db_url: str, databases: NewDatabase, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("a file-level repair")
    live = databases()
    add_user(live, "Saved")
    env = env_for(live, tmp_path / "var")
    backup = tmp_path / "b.sqlite3"
    assert dcc("backup", "--output", str(backup), env=env).exit_code == 0
    path = Path(live.split("///", 1)[1])
    damage = os.urandom(8192)
    path.write_bytes(damage)

    refused = dcc("restore", str(backup), "--yes", env=env)
    assert refused.exit_code == 2
    assert "cannot read the database to see who uses it" in refused.stderr
    assert "pass --force to restore anyway" in refused.stderr
    assert path.read_bytes() == damage

    forced = dcc("restore", str(backup), "--yes", "--force", env=env)
    assert forced.exit_code == 0, forced.stderr
    assert user_names(live) == ["Saved"]
    (kept,) = kept_copies(live, tmp_path / "var")
    assert kept.read_bytes() == damage  # what was there, byte for byte
