"""docs/ci-integration.md: the documented curl step really registers a deployment.

The step's text is taken from the document (not copied here), run with bash exactly as
a GitHub runner runs a ``shell: bash`` step — real ``jq`` and ``curl`` — against the app
served by uvicorn on a free port, with a real API token; ``${{ … }}`` expressions in the
step's ``env:`` are replaced by the values GitHub would give them, and ``$GITHUB_ENV``
carries the start time from the first step to the second, as on a runner.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from sqlalchemy import select

from devops_center.deployments.models import Deployment
from devops_center.users import tokens as api_tokens
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci-integration.md"
WORKFLOW = ROOT / ".github" / "workflows" / "main.yml"
API = "/api/v1/deployments"

SHA = "3484a3fb816e0859fd6e1cea078d76385ff50625"
MESSAGE = 'fix: close shift on "slow" networks ($HOME `date`)\n\nSecond line; it\'s fine'
RUN_ID, ATTEMPT = "6512345678", "2"


def doc_job() -> dict[str, Any]:
    """The example job of the doc's first YAML block that calls the deployments API."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    for block in blocks:
        if API in block and "curl" in block:
            data = yaml.safe_load(block)
            (job,) = data["jobs"].values()
            return dict(job)
    raise AssertionError(f"no YAML block with a curl call to {API} in {DOC}")


def curl_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if "curl" in s.get("run", "")]


def test_doc_steps_are_the_ones_the_workflow_runs() -> None:
    """One script: the doc's two steps and this repository's deploy job use the same text."""
    job = doc_job()
    start, result = curl_steps(job)
    assert start["run"] == result["run"]
    assert start["env"]["DEPLOY_STATUS"] == "in_progress"
    assert result["if"] == "always()"
    assert "${{" not in start["run"]
    workflow = yaml.safe_load(WORKFLOW.read_text())
    ours = [s for s in workflow["jobs"]["deploy"]["steps"] if API in s.get("run", "")]
    assert len(ours) == 2
    assert all(s["run"] == start["run"] for s in ours)


def route_present(app: Any) -> bool:
    return "post" in app.openapi()["paths"].get(API, {})


def github_value(name: str, expression: str, values: dict[str, str]) -> str:
    """What GitHub substitutes for ``${{ … }}`` in a step's env, for this test's run."""
    if "${{" not in expression:
        return expression
    assert name in values, f"the doc's env {name}: {expression} has no value in this test"
    return values[name]


class Server:
    """The app under uvicorn on 127.0.0.1:<free port>, in the test's event loop."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        for _ in range(200):
            if self.server.started:
                return f"http://127.0.0.1:{self.port}"
            await asyncio.sleep(0.02)
        raise AssertionError("uvicorn did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)
        self.sock.close()


async def run_step(step: dict[str, Any], env: dict[str, str], tmp: Path) -> tuple[int, str]:
    """Run a `shell: bash` step the way the runner does: bash --noprofile --norc -eo pipefail."""
    assert step.get("shell") == "bash"
    script = tmp / f"step-{os.urandom(4).hex()}.sh"
    script.write_text(step["run"])
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "--noprofile",
        "--norc",
        "-eo",
        "pipefail",
        str(script),
        env=env,
        cwd=tmp,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


def github_env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


async def test_documented_curl_step_registers_a_deployment(
    app: Any, sessionmaker: Any, tmp_path: Path
) -> None:
    if not route_present(app):
        pytest.skip("deployments API not on this branch yet")
    for binary in ("bash", "curl", "jq"):
        if shutil.which(binary) is None:
            unavailable(binary, "not installed (.ci/run installs it)")

    async with sessionmaker() as s, s.begin():
        _row, token = await api_tokens.create_token(s, name="ci", scopes=["deployments:write"])
        _row, reader = await api_tokens.create_token(s, name="ro", scopes=["metrics:read"])

    job = doc_job()
    start, result = curl_steps(job)
    runner_file = tmp_path / "github_env"
    runner_file.write_text("")
    before = datetime.now(UTC).replace(microsecond=0)

    async with Server(app) as url:
        values = {
            "DCC_URL": url,
            "DCC_TOKEN": token,
            "COMMIT_MESSAGE": MESSAGE,
            "DEPLOY_STATUS": "success",  # job.status == 'success'
        }
        base = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "GITHUB_ENV": str(runner_file),
            "GITHUB_SHA": SHA,
            "GITHUB_ACTOR": "octocat",
            "GITHUB_REPOSITORY": "acme/shop-web",
            "GITHUB_RUN_ID": RUN_ID,
            "GITHUB_RUN_ATTEMPT": ATTEMPT,
            "GITHUB_SERVER_URL": "https://github.com",
        }
        for name, expression in (job.get("env") or {}).items():
            base[name] = github_value(name, str(expression), values)

        def step_env(step: dict[str, Any], **extra: str) -> dict[str, str]:
            env = {**base, **github_env(runner_file), **extra}
            for name, expression in (step.get("env") or {}).items():
                env[name] = github_value(name, str(expression), values)
            return env

        # A token without the scope: the step fails loudly and stores nothing.
        code, out = await run_step(start, step_env(start, DCC_TOKEN=reader), tmp_path)
        assert code != 0, out
        assert "lacks the scope" in out and "HTTP 403" in out, out
        runner_file.write_text("")

        code, out = await run_step(start, step_env(start), tmp_path)
        assert code == 0, out
        assert out.rstrip().endswith("HTTP 201"), out
        assert "DCC_STARTED_AT" in github_env(runner_file)

        async with sessionmaker() as s:
            row = (await s.execute(select(Deployment))).scalar_one()
        assert row.status == "in_progress" and row.completed_at is None

        code, out = await run_step(
            result, step_env(result, TESTS_PASSED="212", TESTS_FAILED="0"), tmp_path
        )
        assert code == 0, out
        assert out.rstrip().endswith("HTTP 200"), out

    async with sessionmaker() as s:
        rows = (await s.execute(select(Deployment))).scalars().all()
    assert len(rows) == 1, "the same external id updates the row"
    (row,) = rows
    started = datetime.strptime(github_env(runner_file)["DCC_STARTED_AT"], "%Y-%m-%dT%H:%M:%SZ")
    assert row.external_id == f"{RUN_ID}-{ATTEMPT}"
    assert row.status == "success"
    assert row.commit_sha == SHA
    assert row.commit_message == MESSAGE
    assert row.started_at == started.replace(tzinfo=UTC)
    assert before <= row.started_at <= row.completed_at  # type: ignore[operator]
    assert row.completed_at <= datetime.now(UTC) + timedelta(seconds=1)  # type: ignore[operator]
    assert row.triggered_by == "octocat"
    assert (row.tests_passed, row.tests_failed) == (212, 0)
    assert (row.service, row.environment, row.kind) == ("shop-web", "production", "normal")
    assert row.url == f"https://github.com/acme/shop-web/actions/runs/{RUN_ID}"
    assert row.source == "api"


COMPOSE_RUN = re.compile(
    r"docker compose -f deploy/compose\.yaml (?:run --rm migrate|exec (?:-T )?web dcc) "
)
DCC_CALL = re.compile(r"(?:^|(?<=[\s`(]))dcc ([a-z][^`\n#|>;&]*)")


def documented_dcc_calls(text: str) -> list[tuple[str, bool]]:
    """``dcc …`` command lines of a doc: (arguments, whether from a code block)."""
    text = COMPOSE_RUN.sub("dcc ", text.replace("\\\n", " "))
    calls: list[tuple[str, bool]] = []
    for block in re.findall(r"```(?:sh|yaml)?\n(.*?)```", text, re.S):
        calls += [(m.group(1).strip(), True) for m in DCC_CALL.finditer(block)]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        calls += [(m.group(1).strip(), False) for m in DCC_CALL.finditer(span)]
    return calls


@pytest.mark.parametrize("doc", ["ci-integration.md", "operations.md"])
def test_documented_dcc_commands_exist(
    doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every `dcc …` line in the docs names a real command and real options; lines from
    code blocks are parsed by the CLI itself (so values have the right types too). The
    files a line names (`history.jsonl`) exist, as they would for the reader."""
    import shlex

    import typer.main

    from devops_center.cli import app as cli_app

    root: Any = typer.main.get_command(cli_app)
    calls = documented_dcc_calls((ROOT / "docs" / doc).read_text())
    assert len(calls) >= 3, calls
    for call, from_block in calls:
        words = shlex.split(call)
        path: list[str] = []
        command = root
        while hasattr(command, "commands") and words and words[0] in command.commands:
            path.append(words.pop(0))
            command = command.commands[path[-1]]
        if hasattr(command, "commands"):
            if (path or words[:1]) == ["deploy"] and "deploy" not in root.commands:
                continue  # `dcc deploy record` arrives with the deployments API
            pytest.fail(f"{doc}: not a dcc command: dcc {call}")
        options = {o for p in command.params for o in p.opts} | {"--help"}
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{doc}: dcc {call}: no option {word}"
        if from_block:
            monkeypatch.chdir(tmp_path)
            for word in words:
                if not word.startswith("-") and re.fullmatch(r"[\w./-]+\.\w{2,5}", word):
                    (tmp_path / word).parent.mkdir(parents=True, exist_ok=True)
                    (tmp_path / word).touch()
            try:
                command.make_context("dcc " + " ".join(path), words)
            except Exception as exc:
                pytest.fail(f"{doc}: `dcc {call}` is refused by the CLI: {exc}")
