"""Links a user or a token can set are http(s) only: ``javascript:`` and ``data:`` are
refused where they come in (the API names the field, the CLI and the config say why),
dropped from GitHub payloads, and never drawn as a link for a row stored before.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from devops_center.cli import app as cli_app
from devops_center.config import ConfigError, get_settings
from devops_center.deployments import service as deployments
from devops_center.deployments.models import Deployment
from devops_center.integrations.github.events import parse_issue
from devops_center.users import tokens as api_tokens

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dora"
HOSTILE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https:alert(1)",
    "ftp://files.example/x",
]
BODY = {
    "commit_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
    "started_at": "2026-11-28T10:00:00Z",
    "completed_at": "2026-11-28T10:04:12Z",
    "status": "success",
    "service": "web",
}


async def test_the_api_refuses_a_non_http_url_naming_the_field(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    async with sessionmaker() as s, s.begin():
        _row, token = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    auth = {"authorization": f"Bearer {token}"}
    for url in HOSTILE:
        response = await client.post("/api/v1/deployments", json={**BODY, "url": url}, headers=auth)
        assert response.status_code == 422, (url, response.text)
        [item] = response.json()["errors"]
        assert item["loc"] == ["body", "url"] and "http:// or https://" in item["msg"], item
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Deployment)) == 0
    good = await client.post(
        "/api/v1/deployments",
        json={**BODY, "url": "https://github.com/octo/web/actions/runs/1"},
        headers=auth,
    )
    assert good.status_code == 201 and good.json()["url"].startswith("https://github.com/")


async def test_a_stored_javascript_url_is_never_drawn_as_a_link(
    as_role: Any, sessionmaker: Any
) -> None:
    """A row saved before the check (or by hand): shown as text, not as href."""
    now = datetime.now(UTC)
    async with sessionmaker() as s, s.begin():
        row = Deployment(
            commit_sha="3484a3f",
            started_at=now,
            completed_at=now,
            status="success",
            environment="production",
            service="web",
            kind="normal",
            source="api",
            url="javascript:alert(document.cookie)",
        )
        s.add(row)
        await s.flush()
        dep_id = row.id
    owner = await as_role("owner")
    page = await owner.get(f"/admin/deployments/{dep_id}")
    assert page.status_code == 200
    assert "javascript:alert(document.cookie)" in page.text  # shown, as text
    assert 'href="javascript:' not in page.text


async def test_github_payload_links_that_are_not_http_are_dropped(
    settings: Any, sessionmaker: Any
) -> None:
    payload = json.loads((FIXTURES / "deployment_status.success.json").read_text())
    hostile = copy.deepcopy(payload)
    hostile["deployment_status"]["target_url"] = "javascript:alert(1)"
    hostile["deployment_status"]["log_url"] = "data:text/html,<b>x</b>"
    async with sessionmaker() as s, s.begin():
        dep = await deployments.record_from_deployment_status(s, hostile, settings=settings)
    assert dep is not None and dep.url is None  # recorded, without the link

    issue = {"number": 7, "title": "t", "state": "open", "html_url": "javascript:alert(1)"}
    assert parse_issue(issue, repo="octo/web").url is None
    issue["html_url"] = "https://github.com/octo/web/issues/7"
    assert parse_issue(issue, repo="octo/web").url == issue["html_url"]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/plain,x", "file:///etc/passwd"])
def test_a_check_url_must_be_http(url: str) -> None:
    with pytest.raises(ConfigError, match="url must be an http:// or https:// URL"):
        get_settings(checks=[{"name": "site", "type": "http", "url": url}], config_file=None)
    assert get_settings(
        checks=[{"name": "site", "type": "http", "url": "https://user:pw@example.com/"}],
        config_file=None,
    ).checks


def test_the_cli_refuses_a_non_http_link_before_sending() -> None:
    result = CliRunner().invoke(
        cli_app,
        ["deploy", "record", "--url", "http://127.0.0.1:9", "--token", "x",
         "--sha", "abcdef1", "--status", "success", "--link", "javascript:alert(1)"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--link" in result.output and "http:// or https://" in result.output
    assert "cannot reach" not in result.output  # refused before any request
