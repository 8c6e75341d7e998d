"""``dcc config check`` and its text."""

from __future__ import annotations

import typer
from pydantic import SecretStr

from devops_center.brain import embedder
from devops_center.cli.common import load_settings
from devops_center.config import Settings, mask_url
from devops_center.support import uploads

config_app = typer.Typer(help="Configuration.", no_args_is_help=True)


def _show(name: str, value: object) -> str:
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        return f"{raw[:4]}…({len(raw)} chars)" if len(raw) > 8 else "****"
    if value is None:
        return "(not set)"
    if name == "database_url" or (name == "redis_url" and value):
        return mask_url(str(value))
    if isinstance(value, list):
        return f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}"
    return str(value)


def report(settings: Settings) -> list[str]:
    lines = ["Settings:"]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env = getattr(alias, "choices", [name])[0] if alias else name
        lines.append(f"  {env:<30} {_show(name, getattr(settings, name))}")
    lines.append("")
    lines.append("Integrations:")
    for key, feature in settings.features().items():
        lines.append(f"  {key:<20} {'ON ' if feature.enabled else 'off'}  {feature.why}")
    lines.append("")
    lines.append("Storage:")
    problem = uploads.storage_problem(settings)
    lines.append(f"  {'screenshots':<20} {'PROBLEM: ' + problem if problem else 'ok'}")
    lines.append("")
    lines.append("Support brain:")
    brain = embedder.status(settings.embedding_model)
    mode = "hybrid" if brain.available else "lexical only"
    lines.append(f"  {'FAQ search':<20} {mode}: {brain.why}")
    return lines


@config_app.command("check")
def config_check() -> None:
    """Print every setting (secrets masked) and which integrations are on or off, and why."""
    settings = load_settings()
    for line in report(settings):
        typer.echo(line)
    if uploads.storage_problem(settings):
        raise typer.Exit(1)
