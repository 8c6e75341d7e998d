"""``dcc demo``, ``serve``, ``web``, ``worker`` and ``bot``: the processes."""

from __future__ import annotations

from typing import Annotated

import typer

from devops_center.cli.common import HostOpt, PortOpt, fail, load_settings, run, setup_logging
from devops_center.config import Settings


def demo(host: HostOpt = "127.0.0.1", port: PortOpt = 8001) -> None:
    """Migrate the SQLite demo database, load demo data once, print logins, serve on :8001."""
    from devops_center.cli import demo_data
    from devops_center.kpis import demo as demo_kpi
    from devops_center.migrations import runner

    settings = load_settings()
    setup_logging(settings)
    runner.upgrade(settings.database_url)
    settings = demo_kpi.with_demo_kpi(settings)  # "Active shifts" for /morning
    logins, created = run(demo_data.load(settings))
    typer.echo("")
    typer.secho("DevOps Command Center — demo", bold=True)
    typer.echo("Demo data " + ("loaded." if created else "already present; nothing added."))
    typer.echo("Sign in with any of these (email / password):")
    for role, email, password in logins:
        typer.echo(f"  {role:<11} {email:<28} {password}")
    typer.echo(f"\nServing on http://{host}:{port}  (Ctrl-C to stop)\n")
    _serve(settings, host, port)


def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8001) -> None:
    """Everything in one process: web, worker, and the bot when a token is set."""
    settings = load_settings()
    setup_logging(settings)
    _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    from devops_center.cli.embedded import run_embedded

    run(run_embedded(settings, host=host, port=port))


def web(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8001,
    workers: Annotated[int, typer.Option(help="Web worker processes.", min=1)] = 1,
) -> None:
    """The web app alone (production: run several, behind a proxy)."""
    import os

    from devops_center.config import served_at
    from devops_center.web import workers as web_workers

    settings = load_settings()
    setup_logging(settings)
    # The worker processes read their settings anew: hand them the address they serve.
    os.environ["DCC_BASE_URL"] = served_at(settings, host, port).base_url
    if workers > 1:
        from devops_center.web.metrics import prepare_multiprocess_dir

        prepare_multiprocess_dir(settings)  # /metrics merges every worker's counters
    if web_workers.serve(host, port, workers, settings.log_level.lower()):
        raise typer.Exit(1)


def worker(
    once: Annotated[bool, typer.Option(help="Run the due jobs, then exit.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
) -> None:
    """The background worker: GitHub calls, notifications, periodic syncs and checks."""
    from devops_center.cli.embedded import run_worker_process

    settings = load_settings()
    setup_logging(settings)
    ran = run(run_worker_process(settings, once=once, concurrency=concurrency))
    if once:
        typer.echo(f"ran {ran} job(s)")


def bot() -> None:
    """The Telegram bot alone (long polling, or webhook set-up when configured)."""
    from devops_center.cli.embedded import run_bot_process

    settings = load_settings()
    setup_logging(settings)
    if not settings.telegram_enabled().enabled:
        fail(f"bot is off: {settings.telegram_enabled().why}")
    run(run_bot_process(settings))
