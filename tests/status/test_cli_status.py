"""`dcc status [--probe]`: the checks as the dashboard shows them, and a probe right now."""

from __future__ import annotations

from pathlib import Path

from devops_center.cli.status_report import status_lines
from tests.conftest import make_settings
from tests.status.conftest import Target


async def test_status_lines(db_url: str, tmp_path: Path, engine: object, target: Target) -> None:
    settings = make_settings(
        db_url,
        tmp_path,
        base_url=f"http://127.0.0.1:{target.port}",  # the built-in web check probes it
        checks=[{"name": "api-port", "type": "tcp", "host": "127.0.0.1", "port": target.port}],
    )
    lines = await status_lines(settings, probe=True)
    table = {line.split()[0]: line for line in lines[1:] if line and line[0] != " "}
    assert table["api-port"].split()[1] == "unknown"  # never probed by the worker yet
    assert "TELEGRAM_BOT_TOKEN" in table["bot"]
    assert any(line.split()[:2] == ["ok", "api-port"] for line in lines)
    assert any(line.split()[:2] == ["ok", "database"] for line in lines)
    assert any(line.split()[:2] == ["ok", "web"] for line in lines)
