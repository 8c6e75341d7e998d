"""``dcc dora rebuild``: recompute the DORA roll-ups from the stored deployments.

The roll-ups are kept exact on every write; a rebuild is for a changed ``DCC_TIMEZONE``
(their days are local days) or after rows were written behind the product's back.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from devops_center.cli.common import fail, load_settings, run, with_session

dora_app = typer.Typer(help="DORA metrics: their roll-ups.", no_args_is_help=True)


@dora_app.command("rebuild")
def rebuild(
    timezone: Annotated[
        str | None,
        typer.Option(help="Days in this time zone (default: DCC_TIMEZONE)."),
    ] = None,
) -> None:
    """Recompute every commit's first deployment and the daily roll-ups from raw rows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from devops_center.deployments.rebuild import rebuild_async

    settings = load_settings()
    zone = timezone or settings.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone: {zone}")
    started = time.perf_counter()
    done = run(with_session(settings, lambda s: rebuild_async(s, zone)))
    typer.echo(
        f"dora rebuild: {done.days} service-days and {done.firsts} first deployments "
        f"of commits, days in {done.timezone}, in {time.perf_counter() - started:.1f} s"
    )
