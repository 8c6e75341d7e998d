"""``dcc status``: the checks as the dashboard shows them, optionally probed right now."""

from __future__ import annotations

from typing import Annotated

import typer

from devops_center.cli.common import load_settings, run
from devops_center.config import Settings
from devops_center.db import make_engine, make_sessionmaker


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} %"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


async def status_lines(settings: Settings, *, probe: bool = False) -> list[str]:
    from devops_center.processes import service as processes
    from devops_center.status import service as status

    engine = make_engine(settings.database_url, pool_size=2)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            views = await status.current_states(session, settings)
            running = await processes.alive(session)
        lines = [f"{'check':<20} {'state':<15} {'response':>9} {'uptime 24h':>11}  since"]
        for v in views:
            since = v.since.strftime("%Y-%m-%d %H:%M UTC") if v.since else "—"
            if v.state == "not_configured":
                since = v.message or ""
            failing = v.state in ("down", "pending")  # its error, not a response time
            if failing and v.message:
                since = f"{since}  {v.message}"
            lines.append(
                f"{v.name:<20} {v.state:<15} {'—' if failing else _ms(v.response_ms):>9} "
                f"{_pct(v.uptime_24h):>11}  {since}"
            )
        within = int(processes.ALIVE_WITHIN.total_seconds())
        lines.append("")
        lines.append(f"processes seen in the last {within} s: {len(running) or 'none'}")
        lines += [f"  {processes.describe(p)}" for p in running]
        if probe:
            lines.append("")
            lines.append("probing now:")
            for spec in status.check_specs(settings):
                if not spec.configured:
                    continue
                result = await status.probe(spec, settings=settings, sessionmaker=sessionmaker)
                mark = "ok  " if result.ok else "FAIL"
                lines.append(
                    f"  {mark} {spec.name:<20} {_ms(result.response_ms):>9}  {result.message}"
                )
        return lines
    finally:
        await engine.dispose()


def status_command(
    probe: Annotated[bool, typer.Option(help="Probe every check now (no state change).")] = False,
) -> None:
    """Every system check: state, response time, uptime over 24 h, since when."""
    settings = load_settings()
    for line in run(status_lines(settings, probe=probe)):
        typer.echo(line)
