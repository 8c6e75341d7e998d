"""``dcc github``: status, a sync of the issue mirror, replay of stored deliveries, and
the backfill of deployment history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from devops_center.cli.common import echo_result, fail, load_settings, run, with_session

github_app = typer.Typer(
    help="GitHub integration: status, sync, webhook replay, deployment history backfill."
)


@github_app.command("status")
def github_status() -> None:
    """Is GitHub on, the mirror's counts, failed GitHub jobs."""
    from devops_center.github import presenter as gh

    settings = load_settings()

    async def go(session: Any) -> list[str]:
        view = await gh.overview(session, settings)
        lines = [
            f"github:   {'on' if view.github.enabled else 'off'} ({view.github.why})",
            f"webhooks: {'on' if view.webhooks.enabled else 'off'} ({view.webhooks.why})",
            f"issues:   {view.counts.open} open ({view.counts.open_bugs} bugs, "
            f"{view.counts.open_critical} critical), {view.counts.closed} closed",
            f"bugs without an issue: {view.bugs_without_issue}; GitHub jobs queued: "
            f"{view.queued_jobs}",
        ]
        lines += [f"failed job {j.id} ({j.kind}): {j.last_error}" for j in view.failed_jobs]
        return lines

    echo_result(settings, go)


@github_app.command("sync")
def github_sync() -> None:
    """Queue a refresh of the issue mirror (the worker does it)."""
    from devops_center.github import sync as gh

    settings = load_settings()
    if not settings.github_enabled().enabled:
        fail(f"GitHub is off: {settings.github_enabled().why}")
    run(with_session(settings, gh.request_sync))
    typer.echo("sync queued")


@github_app.command("replay")
def github_replay(
    event: Annotated[str | None, typer.Option(help="Only this event (e.g. workflow_run).")] = None,
) -> None:
    """Queue again the stored deliveries of events that had no handler when they came."""
    from devops_center.github import webhooks as gh
    from devops_center.worker import load_job_kinds

    load_job_kinds()  # the features' event handlers
    settings = load_settings()

    async def go(session: Any) -> int:
        return await gh.replay_unhandled(session, event=event)

    typer.echo(f"{run(with_session(settings, go))} delivery(ies) queued again")


def _day(value: str | None, option: str) -> datetime | None:
    """YYYY-MM-DD (or a full ISO time) → an aware UTC time; one clear line otherwise."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")
        raise AssertionError from None  # unreachable
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _progress_lines(p: Any) -> list[str]:
    msg = p.message
    window = f"since {msg.since:%Y-%m-%d %H:%M}" + (
        f" until {msg.until:%Y-%m-%d %H:%M}" if msg.until else ""
    )
    stream = "workflow runs" if msg.stream == "runs" else "deployments"
    lines = [
        f"backfill {p.run}{' (dry run)' if msg.dry_run else ''}, {window} UTC: {p.state}"
        + (f", at {stream} page {msg.page}" if p.state in ("running", "paused") else ""),
        f"pages fetched {msg.pages}, listed {msg.listed}, "
        + ("would import" if msg.dry_run else "imported")
        + f" {msg.imported}, "
        + ("would update" if msg.dry_run else "updated")
        + f" {msg.updated}, not deployments {msg.skipped}, refused {msg.refused}",
    ]
    if msg.last_refusal:
        lines.append(f"last refused: {msg.last_refusal}")
    if p.retry_at is not None:
        lines.append(f"paused until {p.retry_at:%Y-%m-%d %H:%M:%S} UTC: {p.last_error}")
    elif p.last_error or msg.last_error:
        lines.append(f"last error: {p.last_error or msg.last_error}")
    return lines


@github_app.command("backfill")
def github_backfill(
    since: Annotated[
        str | None, typer.Option(help="First day of history to import (YYYY-MM-DD, UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day to import (YYYY-MM-DD, included); default: now.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Fetch and map; count what would change, store nothing."),
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Show where the latest backfill stands.")
    ] = False,
) -> None:
    """Import GITHUB_REPO's deployment history (deploy-workflow runs and deployments with
    their statuses) through the worker, as their webhooks would have registered it."""
    from devops_center.github import backfill

    settings = load_settings()
    if status:

        async def show(session: Any) -> list[str]:
            found = await backfill.progress(session)
            return ["no backfill has run"] if found is None else _progress_lines(found)

        echo_result(settings, show)
        return
    if since is None:
        fail("--since is required (YYYY-MM-DD)")
    start = _day(since, "--since")
    end = _day(until, "--until")
    if end is not None and len(until or "") <= len("YYYY-MM-DD"):
        end += timedelta(days=1)  # a day given: the whole day is included
    assert start is not None

    async def go(session: Any) -> int:
        job = await backfill.start(session, settings, since=start, until=end, dry_run=dry_run)
        return job.id

    try:
        job_id = run(with_session(settings, go))
    except backfill.Refused as exc:
        fail(str(exc))
        return
    typer.echo(
        f"backfill queued: job {job_id}{' (dry run)' if dry_run else ''}; "
        "the worker imports it page by page (dcc github backfill --status)"
    )
