"""``dcc jobs``: the outbox's recent jobs and retrying a failed one."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from devops_center.cli.common import echo_result, load_settings

jobs_app = typer.Typer(help="Background jobs (the outbox).", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="pending, running, done or failed.")] = None,
    limit: int = 30,
) -> None:
    """Recent jobs, newest first."""
    from devops_center.outbox import service as outbox

    settings = load_settings()

    async def go(session: Any) -> list[str]:
        return [
            f"{j.id:>6}  {j.status:<8} {j.kind:<28} attempts={j.attempts}/{j.max_attempts}"
            + (f"  error: {(j.last_error or '').splitlines()[0][:80]}" if j.last_error else "")
            for j in await outbox.list_jobs(session, status=status, limit=limit)
        ]

    echo_result(settings, go)


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Put a failed job back in the queue."""
    from devops_center.outbox import service as outbox

    settings = load_settings()

    async def go(session: Any) -> str:
        job = await outbox.retry_job(session, job_id=job_id)
        return f"job {job.id} ({job.kind}) queued again"

    echo_result(settings, go)
