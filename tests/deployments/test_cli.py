"""`dcc deploy record` against a real server on an OS-chosen port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner

from devops_center.cli import app as cli_app
from devops_center.cli.deploy import JUnitCounts, parse_junit
from devops_center.deployments.models import Deployment
from devops_center.users import tokens as api_tokens

JUNIT = Path(__file__).resolve().parents[1] / "fixtures" / "dora" / "junit.xml"


@pytest.fixture
def server_url(settings) -> Iterator[str]:
    from devops_center.web.app import create_app

    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_parse_junit(tmp_path) -> None:
    assert parse_junit(JUNIT) == JUnitCounts(passed=2, failed=2, skipped=1)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
        "<testsuite>&b;</testsuite>"
    )
    with pytest.raises(ValueError, match="cannot read"):
        parse_junit(bomb)


async def test_record_from_ci(server_url, sessionmaker, monkeypatch) -> None:
    async with sessionmaker() as s, s.begin():
        _t, token = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    for name in ("GITHUB_SHA", "GITHUB_ACTOR", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/staffprobot-web")
    monkeypatch.setenv("GITHUB_RUN_ID", "6512345678")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    runner = CliRunner()
    args = [
        "deploy", "record", "--url", server_url, "--token", token,
        "--sha", "3484a3fb816e0859fd6e1cea078d76385ff50625", "--status", "success",
        "--junit", str(JUNIT), "--started-at", "2026-11-28T10:00:00Z",
        "--completed-at", "2026-11-28T10:03:00Z",
    ]  # fmt: skip
    first = await asyncio.to_thread(runner.invoke, cli_app, args)
    assert first.exit_code == 0, first.output
    assert "registered" in first.output and "tests 2 passed, 2 failed" in first.output
    again = await asyncio.to_thread(runner.invoke, cli_app, args)
    assert again.exit_code == 0 and "updated" in again.output
    async with sessionmaker() as s:
        row = (await s.execute(select(Deployment))).scalar_one()
    assert row.external_id == "6512345678-2" and row.service == "staffprobot-web"
    assert row.duration_seconds == 180 and (row.tests_passed, row.tests_failed) == (2, 2)

    bad = await asyncio.to_thread(
        runner.invoke,
        cli_app,
        ["deploy", "record", "--url", server_url, "--token", token, "--sha", "zz",
         "--status", "success", "--started-at", "soon"],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "commit_sha" in bad.output and "started_at" in bad.output
    denied = await asyncio.to_thread(
        runner.invoke,
        cli_app,
        ["deploy", "record", "--url", server_url, "--token", "dcc_wrong", "--sha", "abcdef1",
         "--status", "success"],
    )  # fmt: skip
    assert denied.exit_code == 1 and "Invalid, expired or revoked token" in denied.output
    down = await asyncio.to_thread(
        runner.invoke,
        cli_app,
        ["deploy", "record", "--url", "http://127.0.0.1:9", "--token", "x", "--sha", "abcdef1",
         "--status", "success"],
    )  # fmt: skip
    assert down.exit_code == 1 and "cannot reach" in down.output


async def test_record_a_failure_with_its_reason(server_url, sessionmaker, monkeypatch) -> None:
    async with sessionmaker() as s, s.begin():
        _t, token = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/web")
    runner = CliRunner()
    base = ["deploy", "record", "--url", server_url, "--token", token,
            "--sha", "abcdef1", "--external-id", "r-1"]  # fmt: skip
    failed = await asyncio.to_thread(
        runner.invoke, cli_app, [*base, "--status", "failed", "--reason", "disk full on web-2"]
    )
    assert failed.exit_code == 0, failed.output
    wrong = await asyncio.to_thread(
        runner.invoke, cli_app, [*base, "--status", "success", "--reason", "nothing failed"]
    )
    assert wrong.exit_code == 1 and "failure_reason" in wrong.output  # the server's check
    async with sessionmaker() as s:
        row = (await s.execute(select(Deployment))).scalar_one()
    assert row.status == "failed" and row.failure_reason == "disk full on web-2"
