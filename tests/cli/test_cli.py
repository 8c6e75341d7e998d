"""The dcc command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devops_center.migrations import runner


def dcc(
    *args: str, env: dict[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devops_center", *args],
        env={**os.environ, **env},
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    runner.upgrade(url)
    return {"DATABASE_URL": url, "DCC_VAR_DIR": str(tmp_path / "var"), "DCC_CONFIG": ""}


def test_help_lists_every_command(env: dict[str, str]) -> None:
    out = dcc("--help", env=env).stdout
    for command in [
        "demo",
        "serve",
        "web",
        "worker",
        "bot",
        "db",
        "users",
        "tokens",
        "config",
        "jobs",
    ]:
        assert command in out


def test_users_and_tokens(env: dict[str, str]) -> None:
    created = dcc(
        "users",
        "create",
        "--email",
        "a@b.co",
        "--name",
        "Ann",
        "--role",
        "owner",
        env=env,
        input="s3cret-password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created user 1" in created.stdout
    dup = dcc(
        "users", "create", "--email", "a@b.co", "--name", "Ann", "--password", "xxxxxxxxx", env=env
    )
    assert dup.returncode == 2 and "already exists" in dup.stderr
    bad = dcc("users", "create", "--email", "c@d.co", "--name", "C", "--role", "king", env=env)
    assert bad.returncode == 2 and "unknown role" in bad.stderr
    listed = dcc("users", "list", env=env).stdout
    assert "a@b.co" in listed and "owner" in listed

    token = dcc("tokens", "create", "--name", "ci", "--scope", "deployments:write", env=env)
    assert token.returncode == 0
    plaintext = token.stdout.strip()
    assert plaintext.startswith("dcc_") and len(plaintext) > 30
    assert "cannot be shown again" in token.stderr
    tokens = dcc("tokens", "list", env=env).stdout
    assert plaintext not in tokens and "deployments:write" in tokens
    wrong = dcc("tokens", "create", "--name", "x", "--scope", "everything", env=env)
    assert wrong.returncode == 2 and "known scopes" in wrong.stderr

    # A token acting for a user, expiring in a week.
    mine = dcc(
        "tokens", "create", "--name", "ann", "--scope", "bugs:read", "--scope", "bugs:write",
        "--user", "A@B.co", "--expires-days", "7", env=env,
    )  # fmt: skip
    assert mine.returncode == 0, mine.stderr
    listed = dcc("tokens", "list", env=env).stdout
    assert "as a@b.co" in listed and "integration" in listed and "expires 20" in listed
    nobody = dcc(
        "tokens", "create", "--name", "x", "--scope", "bugs:read", "--user", "no@b.co", env=env
    )
    assert nobody.returncode == 2 and "No such active user" in nobody.stderr


def test_config_check_masks_secrets_and_explains(env: dict[str, str]) -> None:
    out = dcc(
        "config",
        "check",
        env={**env, "GITHUB_TOKEN": "ghp_supersecretvalue123", "TELEGRAM_BOT_TOKEN": ""},
    ).stdout
    assert "ghp_supersecretvalue123" not in out
    assert "ghp_" in out  # a masked prefix
    assert "telegram_bot" in out and "TELEGRAM_BOT_TOKEN is not set" in out
    assert "GITHUB_REPO is not set" in out
    assert "FAQ search           hybrid: use-multilingual-v3" in out  # the ai extra is installed
    lexical = dcc("config", "check", env={**env, "DCC_EMBEDDING_MODEL": "none"}).stdout
    assert "FAQ search           lexical only: DCC_EMBEDDING_MODEL=none" in lexical


def test_bad_configuration_is_one_line(env: dict[str, str]) -> None:
    result = dcc("config", "check", env={**env, "DATABASE_URL": "mysql://x/y"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_db_commands(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DCC_CONFIG": ""}
    assert "base" in dcc("db", "current", env=env).stdout
    assert "(head)" in dcc("db", "upgrade", env=env).stdout
    assert "base" in dcc("db", "downgrade", "base", env=env).stdout
