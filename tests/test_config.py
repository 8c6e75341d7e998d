"""Settings: defaults, spellings of DATABASE_URL, one-line errors, dcc.toml, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_center.config import ConfigError, get_settings


def test_defaults_are_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    s = get_settings(config_file=None)
    assert s.database_url == "sqlite+aiosqlite:///var/dcc.sqlite3"
    assert s.is_sqlite
    assert not s.github_enabled().enabled
    assert "GITHUB_TOKEN" in s.github_enabled().why


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_url_spellings(given: str, expected: str) -> None:
    assert get_settings(database_url=given).database_url == expected


@pytest.mark.parametrize(
    ("env", "value", "fragment"),
    [
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL: unsupported database 'mysql'"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: is not a database URL"),
        ("DATABASE_URL", "postgresql://u@h/", "DATABASE_URL: names no database"),
        ("DCC_TIMEZONE", "Mars/Olympus", "DCC_TIMEZONE: unknown time zone"),
        ("GITHUB_REPO", "just-a-name", "GITHUB_REPO: must be owner/name"),
        ("TELEGRAM_CHAT_ID", "abc", "TELEGRAM_CHAT_ID:"),
        ("DCC_DEFAULT_LANGUAGE", "de", "DCC_DEFAULT_LANGUAGE:"),
        ("DCC_JOB_LEASE_SECONDS", "2", "DCC_JOB_LEASE_SECONDS: Input should be greater than"),
    ],
)
def test_bad_values_give_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        get_settings()
    message = str(err.value)
    assert "\n" not in message
    assert fragment in message


def test_toml_checks_and_kpis(tmp_path: Path) -> None:
    toml = tmp_path / "dcc.toml"
    toml.write_text(
        '[[checks]]\nname = "site"\ntype = "http"\nurl = "http://127.0.0.1:1/"\n\n'
        '[[kpis]]\nname = "Active shifts"\nsql = "SELECT 5"\n'
    )
    s = get_settings(config_file=toml)
    assert s.checks[0].name == "site"
    assert s.checks[0].retries == 2
    assert s.kpis[0].name == "Active shifts"


def test_toml_errors_are_one_line(tmp_path: Path) -> None:
    toml = tmp_path / "dcc.toml"
    toml.write_text('[[checks]]\nname = "x"\ntype = "http"\n')
    with pytest.raises(ConfigError, match="needs url"):
        get_settings(config_file=toml)
    toml.write_text("[[checks]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        get_settings(config_file=toml)
    with pytest.raises(ConfigError, match="does not exist"):
        get_settings(config_file=tmp_path / "missing.toml")


def test_an_empty_dcc_config_means_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no dcc.toml here
    monkeypatch.setenv("DCC_CONFIG", "")
    s = get_settings()
    assert s.config_file is None
    assert s.checks == []
