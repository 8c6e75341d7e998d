"""``dcc users set-github``: who authored a pull request in the changelog."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from devops_center.cli import app
from devops_center.migrations import runner


def test_set_github_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    runner.upgrade(url)
    monkeypatch.delenv("DCC_CONFIG", raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DCC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    cli = CliRunner()
    for email in ("a@x.y", "b@x.y"):
        made = cli.invoke(
            app, ["users", "create", "--email", email, "--name", email, "--password", "pw-12345678"]
        )
        assert made.exit_code == 0, made.output

    linked = cli.invoke(app, ["users", "set-github", "1", "@Alice-Dev"])
    assert linked.exit_code == 0, linked.output
    assert "user 1 is @alice-dev on GitHub" in linked.output
    taken = cli.invoke(app, ["users", "set-github", "2", "alice-dev"])
    assert taken.exit_code != 0 and "Another user has this GitHub login" in taken.output
    bad = cli.invoke(app, ["users", "set-github", "2", "not a login!"])
    assert bad.exit_code != 0 and "Not a GitHub login" in bad.output
    cleared = cli.invoke(app, ["users", "set-github", "1", ""])
    assert cleared.exit_code == 0 and "has no GitHub login" in cleared.output
