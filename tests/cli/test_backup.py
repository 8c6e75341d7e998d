"""dcc backup / dcc restore round trip on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from devops_center.users import service as users
from devops_center.users.models import User


def dcc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devops_center", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_backup_and_restore_round_trip(settings, sessionmaker, tmp_path: Path) -> None:
    if not settings.is_sqlite and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    async with sessionmaker() as s, s.begin():
        await users.create_user(s, name="Kept", email="kept@test.local", password="x" * 10)
    env = {"DATABASE_URL": settings.database_url, "DCC_VAR_DIR": str(tmp_path), "DCC_CONFIG": ""}
    target = tmp_path / "b" / ("db.sqlite3" if settings.is_sqlite else "db.pgdump")
    made = dcc("backup", "--output", str(target), env=env)
    assert made.returncode == 0, made.stderr
    assert target.stat().st_size > 0

    async with sessionmaker() as s, s.begin():
        await users.create_user(s, name="Later", email="later@test.local")
        kept = await users.get_by_email(s, email="kept@test.local")
        kept.name = "Changed"

    again = dcc("backup", "--output", str(target), env=env)
    assert again.returncode == 2
    assert "exists already" in again.stderr

    restored = dcc("restore", str(target), "--yes", env=env)
    assert restored.returncode == 0, restored.stderr
    async with sessionmaker() as s:
        names = sorted((await s.execute(select(User.name))).scalars())
        count = await s.scalar(select(func.count()).select_from(User))
    assert names == ["Kept"]
    assert count == 1


def test_restore_refuses_garbage(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DCC_CONFIG": ""}
    result = dcc("restore", str(junk), "--yes", env=env)
    assert result.returncode == 2
    assert "not a SQLite database" in result.stderr
    missing = dcc("restore", str(tmp_path / "nope"), "--yes", env=env)
    assert "no backup file" in missing.stderr
