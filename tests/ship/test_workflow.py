"""The GitHub Actions workflow: valid (actionlint + shellcheck), and shaped as SPEC §7 says."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "main.yml"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def wf() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: `make dev` installs it (pyproject dev extra)")
    return found


def test_actionlint_passes() -> None:
    result = subprocess.run(
        [tool("actionlint"), f"-shellcheck={tool('shellcheck')}", "-pyflakes=", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The check has teeth: an unknown job in `needs` and a shell bug are both reported."""
    broken = WORKFLOW.read_text().replace(
        "needs: [test, lint, security, deploy-config]",
        "needs: [test, lint, security, deploy-confg]",
    )
    broken = broken.replace("mkdir -p test-artifacts", "cd $UNQUOTED_DIR")
    path = tmp_path / ".github" / "workflows" / "main.yml"
    path.parent.mkdir(parents=True)
    path.write_text(broken)
    result = subprocess.run(
        [tool("actionlint"), f"-shellcheck={tool('shellcheck')}", "-pyflakes=", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "deploy-confg" in result.stdout
    assert "SC2086" in result.stdout  # shellcheck ran on the run: blocks


def test_triggers_and_concurrency(wf: dict[str, Any]) -> None:
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["push"]["branches"] == ["main"]
    assert on["pull_request"]["branches"] == ["main"]
    assert wf["permissions"] == {"contents": "read"}
    assert "concurrency" in wf
    deploy = wf["jobs"]["deploy"]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert wf["name"] == "CI/CD"  # DCC_DEPLOY_WORKFLOW's default: webhooks match this run


def test_jobs(wf: dict[str, Any]) -> None:
    jobs = wf["jobs"]
    assert {"test", "lint", "security", "deploy", "notify"} <= set(jobs)

    test = jobs["test"]
    assert {"postgres", "redis"} <= set(test["services"])
    run = "\n".join(s.get("run", "") for s in steps(test))
    assert "make test" in run
    assert "--cov-fail-under=$COVERAGE_MIN" in run and int(test["env"]["COVERAGE_MIN"]) >= 70
    assert "--junitxml=test-artifacts/junit.xml" in run
    upload = next(s for s in steps(test) if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()" and upload["with"]["name"] == "test-reports"

    assert "make lint" in "\n".join(s.get("run", "") for s in steps(jobs["lint"]))
    security = "\n".join(s.get("run", "") for s in steps(jobs["security"]))
    assert "bandit" in security and "pip-audit" in security

    gate = jobs["deploy-config"]
    assert gate["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    gate_run = steps(gate)[0]["run"]
    assert "SSH_DEPLOY_KEY" in gate_run and "::notice" in gate_run

    deploy = jobs["deploy"]
    assert set(deploy["needs"]) >= {"test", "lint", "security"}
    assert deploy["if"] == "needs.deploy-config.outputs.enabled == 'true'"
    names = [s.get("name", "") for s in steps(deploy)]
    order = [
        "Register deployment (started)",
        "Download the test job's reports",
        "Count tests from the JUnit report",
        "Set up SSH",
        "Deploy over SSH (git fetch + reset, docker compose up --build)",
        "Health check (poll /healthz until healthy or the timeout)",
        "Register deployment (result)",
    ]
    assert [n for n in names if n in order] == order
    deploy_run = "\n".join(s.get("run", "") for s in steps(deploy))
    for fragment in (
        "git fetch",
        "git reset --hard origin/main",
        "docker compose -f deploy/compose.yaml up -d --build",
        "/healthz",
        "DEPLOY_HEALTH_TIMEOUT",
    ):
        assert fragment in deploy_run, fragment
    result = next(s for s in steps(deploy) if s.get("name") == "Register deployment (result)")
    assert result["if"].startswith("always()")
    assert "'success'" in result["env"]["DEPLOY_STATUS"]
    assert "'failed'" in result["env"]["DEPLOY_STATUS"]

    notify = jobs["notify"]
    assert notify["if"] == "always()"
    assert set(notify["needs"]) >= {"test", "lint", "security", "deploy"}
    send = next(s for s in steps(notify) if "sendMessage" in s.get("run", ""))
    assert send["if"] == "env.TELEGRAM_BOT_TOKEN != '' && env.TELEGRAM_CHAT_ID != ''"
    for var in ("AUTHOR", "TEST_RESULT", "DEPLOY_RESULT"):
        assert var in send["env"]
    assert "GITHUB_SHA" in send["run"] and "actions/runs" in send["run"]


def test_actions_are_pinned_to_full_commit_shas(wf: dict[str, Any]) -> None:
    uses = [s["uses"] for job in wf["jobs"].values() for s in steps(job) if "uses" in s]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"not pinned: {ref}"
    # and each pin carries its version as a comment for humans and Dependabot
    for line in WORKFLOW.read_text().splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


def test_secrets_stay_out_of_scripts(wf: dict[str, Any]) -> None:
    """Secrets reach steps only through `env:`; no script interpolates or prints them."""
    secret_vars: set[str] = set()
    for job in wf["jobs"].values():
        for holder in [job, *steps(job)]:
            for key, value in (holder.get("env") or {}).items():
                if "secrets." in str(value):
                    secret_vars.add(key)
    assert {"SSH_DEPLOY_KEY", "DCC_TOKEN", "TELEGRAM_BOT_TOKEN"} <= secret_vars
    for job in wf["jobs"].values():
        for step in steps(job):
            script = step.get("run", "")
            assert "${{" not in script, f"expression inside run: of {step.get('name')}"
            assert not re.search(r"set -[a-z]*x", script)
            for var in secret_vars:
                assert not re.search(rf"\becho\b[^\n|>]*\${{?{var}\b", script), (
                    f"{step.get('name')} echoes {var}"
                )


# --------------------------------------------------------------- steps, really run


def step(wf: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    return next(s for s in steps(wf["jobs"][job]) if s.get("name") == name)


def run_step(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """As a runner runs a step with the default shell: bash -e."""
    path = cwd / "step.sh"
    path.write_text(script)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


class Recorder(BaseHTTPRequestHandler):
    """A stand-in for /healthz and Telegram's sendMessage that records what it got."""

    requests: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_GET(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers.get("content-length", 0))))

    def _answer(self, body: bytes) -> None:
        self.requests.append((self.command, self.path, body))
        ok = self.path in ("/healthz",) or self.path.endswith("/sendMessage")
        self.send_response(200 if ok else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}' if ok else b'{"ok": false}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def standin() -> Any:
    Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_junit_counts_step(wf: dict[str, Any], tmp_path: Path) -> None:
    script = step(wf, "deploy", "Count tests from the JUnit report")["run"]
    env_file = tmp_path / "github_env"
    env_file.write_text("")
    # no report (the test job died early): nothing is claimed
    assert run_step(script, {"GITHUB_ENV": str(env_file)}, tmp_path).returncode == 0
    assert env_file.read_text() == ""
    (tmp_path / "test-reports").mkdir()
    (tmp_path / "test-reports" / "junit.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        '<testsuite name="pytest" errors="1" failures="2" skipped="3" tests="40">'
        '<testcase classname="t" name="a"/></testsuite></testsuites>'
    )
    result = run_step(script, {"GITHUB_ENV": str(env_file)}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert env_file.read_text().split() == ["TESTS_PASSED=34", "TESTS_FAILED=3"]


def test_health_check_step(wf: dict[str, Any], tmp_path: Path, standin: str) -> None:
    script = step(wf, "deploy", "Health check (poll /healthz until healthy or the timeout)")["run"]
    env = {"DCC_URL": standin, "DEPLOY_HEALTH_URL": "", "DEPLOY_HEALTH_TIMEOUT": "30"}
    ok = run_step(script, env, tmp_path)
    assert ok.returncode == 0 and "healthy after" in ok.stdout
    assert Recorder.requests == [("GET", "/healthz", b"")]
    env = {**env, "DEPLOY_HEALTH_URL": f"{standin}/not-healthy", "DEPLOY_HEALTH_TIMEOUT": "0"}
    bad = run_step(script, env, tmp_path)
    assert bad.returncode == 1
    assert "::error title=Health check failed::" in bad.stdout and "/not-healthy" in bad.stdout


def test_telegram_step(wf: dict[str, Any], tmp_path: Path, standin: str) -> None:
    send = step(wf, "notify", "Send the result to Telegram")
    token = "123456:SECRET-bot-token"
    env = {
        "TELEGRAM_API_URL": standin,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_CHAT_ID": "-1001234",
        "TEST_RESULT": "success",
        "LINT_RESULT": "success",
        "SECURITY_RESULT": "success",
        "DEPLOY_RESULT": "failure",
        "AUTHOR": "Anna O'Neil",
        "TITLE": 'fix: "slow" $networks\n\nlong body',
        "REF": "main",
        "GITHUB_WORKFLOW": "CI/CD",
        "GITHUB_REPOSITORY": "acme/dcc",
        "GITHUB_SHA": "3484a3fb816e0859fd6e1cea078d76385ff50625",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "42",
    }
    assert set(send["env"]) <= set(env)
    result = run_step(send["run"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert token not in result.stdout + result.stderr
    ((method, path, body),) = Recorder.requests
    assert (method, path) == ("POST", f"/bot{token}/sendMessage")
    message = json.loads(body)
    assert message["chat_id"] == "-1001234"
    assert message["text"].splitlines() == [
        "❌ CI/CD: failure",
        "acme/dcc @ main — 3484a3f",
        'fix: "slow" $networks',
        "👤 Anna O'Neil",
        "test: success · lint: success · security: success · deploy: failure",
        "https://github.com/acme/dcc/actions/runs/42",
    ]
