"""deploy/: the compose file parses, runs real ``dcc`` commands and sets real settings.

Docker cannot build or run images here, so the files are checked against the code:
every service command is parsed by the CLI itself (options, types, ranges), every
environment variable is a field alias of :class:`~devops_center.config.Settings`, and
``.env.example`` builds valid settings.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from devops_center.cli import app as cli_app
from devops_center.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DCC_SERVICES = ("migrate", "web", "worker", "bot")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def setting_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", [alias] if alias else [])
        names |= {str(c) for c in choices if str(c).isupper()}
    return names


def interpolate(value: str) -> str:
    """Compose's variable substitution with an empty environment: defaults apply."""

    def repl(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if op and op.endswith("-"):
            return arg
        return f"<{name}>"  # :? / ? would stop compose; stand in a value

    return VAR_RE.sub(repl, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=value: {line!r}"
            values[key.strip()] = value
    return values


def resolve(args: list[str]) -> tuple[Any, list[str], list[str]]:
    """Walk the Typer command tree; return the leaf command, its args and its path."""
    command: Any = typer.main.get_command(cli_app)
    path: list[str] = []
    rest = list(args)
    while hasattr(command, "commands"):
        assert rest, f"`dcc {' '.join(path)}` needs a subcommand"
        name = rest.pop(0)
        assert name in command.commands, (
            f"`dcc {' '.join([*path, name])}` is not a dcc command; "
            f"known: {', '.join(sorted(command.commands))}"
        )
        command = command.commands[name]
        path.append(name)
    return command, rest, path


def test_compose_has_every_component(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"web", "worker", "bot", "postgres", "redis", "migrate"}
    for name in DCC_SERVICES:
        svc = services[name]
        assert svc["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}, name
        mounts = {m.split(":")[1] for m in svc["volumes"]}
        assert {"/var/lib/dcc", "/var/lib/dcc/uploads"} <= mounts, name
    assert {"data", "uploads", "postgres", "redis"} <= set(compose["volumes"])


def test_migrations_run_once_before_the_app(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "bot"):
        deps = services[name]["depends_on"]
        assert deps["migrate"] == {"condition": "service_completed_successfully"}, name
        assert deps["postgres"]["condition"] == "service_healthy"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name


@pytest.mark.parametrize("service", DCC_SERVICES)
def test_service_command_is_a_real_dcc_command(compose: dict[str, Any], service: str) -> None:
    raw = compose["services"][service]["command"]
    args = [interpolate(a) for a in (raw if isinstance(raw, list) else shlex.split(raw))]
    command, rest, path = resolve(args)
    # Click parses the arguments exactly as `dcc` would: unknown options, bad types and
    # out-of-range values raise here.
    try:
        ctx = command.make_context(" ".join(["dcc", *path]), rest)
    except Exception as exc:
        pytest.fail(f"{service}: `dcc {' '.join(args)}` is refused by the CLI: {exc}")
    if service == "web":
        assert ctx.params["workers"] >= 2, "production web runs several worker processes"
        assert ctx.params["host"] == "0.0.0.0"
        assert ctx.params["port"] == 8001


def test_every_environment_variable_is_a_setting(compose: dict[str, Any]) -> None:
    known = setting_names()
    for name in DCC_SERVICES:
        env = compose["services"][name]["environment"]
        unknown = sorted(set(env) - known)
        assert not unknown, f"{name} sets variables that are no setting: {unknown}"
        values = {k: interpolate(str(v)) for k, v in env.items()}
        settings = Settings(**values)
        assert settings.database_url.startswith("postgresql+asyncpg://dcc:")
        assert settings.redis_url == "redis://redis:6379/0"


def test_env_example_is_settings_or_compose_variables(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    compose_vars = {m.group(1) for m in VAR_RE.finditer(text)} | {"COMPOSE_PROFILES"}
    known = setting_names()
    example = env_example()
    stray = sorted(set(example) - known - compose_vars)
    assert not stray, f".env.example names unknown variables: {stray}"
    # Every variable compose requires is in the example.
    required = {m.group(1) for m in VAR_RE.finditer(text) if m.group(2) in (":?", "?")}
    assert required <= set(example)
    # The example's application values are valid settings as they stand.
    app_values = {k: v for k, v in example.items() if k in known}
    app_values["DATABASE_URL"] = "postgresql://dcc:x@postgres:5432/dcc"
    settings = Settings(**app_values)
    assert settings.deploy_workflow == "CI/CD"
    profiles = example["COMPOSE_PROFILES"].split(",")
    assert profiles == ["bot"] and compose["services"]["bot"]["profiles"] == ["bot"]


def test_dockerfile() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, re.M)
    assert len(stages) >= 2, "multi-stage build"
    assert "COPY --from=build" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "runs as non-root"
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert re.search(r'^ENTRYPOINT \["dcc"\]', text, re.M)
    # Every file the build copies from the context exists, and the ignore file lets it in.
    sources = re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for group in sources:
        for src in group.split():
            assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
            assert f"!{src.rstrip('/')}" in [i.rstrip("/") for i in ignore], src
    # The default command is the web app, on the port the healthcheck polls.
    cmd = re.search(r"^CMD (\[.*\])", text, re.M)
    assert cmd
    command, rest, path = resolve(yaml.safe_load(cmd.group(1)))
    assert path == ["web"]
    assert command.make_context("dcc web", rest).params["port"] == 8001
