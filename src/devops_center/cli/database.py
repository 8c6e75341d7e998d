"""``dcc db`` (migrations), ``dcc backup`` and ``dcc restore``; the checks and the copying
live in :mod:`devops_center.cli.backups`."""

from __future__ import annotations

from typing import Annotated

import typer

from devops_center.cli.common import fail, load_settings, run

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from devops_center.migrations import runner

    settings = load_settings()
    runner.upgrade(settings.database_url, revision)
    typer.echo(f"database at {runner.current(settings.database_url) or 'base'}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
) -> None:
    """Revert migrations down to REVISION."""
    from devops_center.migrations import runner

    settings = load_settings()
    runner.downgrade(settings.database_url, revision)
    typer.echo(f"database at {runner.current(settings.database_url) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    from devops_center.migrations import runner

    settings = load_settings()
    typer.echo(runner.current(settings.database_url) or "base (empty database)")


def backup(
    output: Annotated[
        str | None, typer.Option(help="File to write (default: var/backups/dcc-<time>.*).")
    ] = None,
) -> None:
    """Back up the database (SQLite online backup, or pg_dump), readable by its owner only."""
    from pathlib import Path

    from devops_center.cli import backups as bk

    settings = load_settings()
    target = (
        Path(output) if output else bk.default_backup_path(settings.database_url, settings.var_dir)
    )
    try:
        info = bk.backup_database(settings.database_url, target, ours=output is None)
    except bk.BackupError as exc:
        fail(str(exc))
        return
    typer.echo(
        f"backup written to {target} ({target.stat().st_size} bytes, "
        f"revision {info.revision}, {info.tables} tables)"
    )


def restore(
    path: Annotated[str, typer.Argument(help="A file written by `dcc backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Restore even while web, worker or bot processes run."),
    ] = False,
) -> None:
    """Replace the database with a checked backup; the replaced one is kept beside it."""
    from pathlib import Path

    from devops_center.cli import backups as bk

    settings = load_settings()

    def refuse_while_used() -> None:
        """Refuse while a web, worker or bot process keeps a fresh heartbeat (bar --force)."""
        try:
            running = run(bk.processes_using(settings.database_url))
        except bk.BackupError as exc:
            if not force:
                fail(f"refused: {exc}; pass --force to restore anyway")
            typer.secho(f"--force: {exc}", err=True, fg=typer.colors.YELLOW)
            return
        if running and not force:
            fail(
                f"refused: {len(running)} process(es) use this database ("
                + "; ".join(running)
                + "); stop web, worker and bot first, or pass --force"
            )
        if running:
            typer.secho(
                f"--force: going on although {len(running)} process(es) use this database",
                err=True,
                fg=typer.colors.YELLOW,
            )

    try:
        if not Path(path).is_file():
            fail(f"no backup file at {path}")
        refuse_while_used()
        with bk.prepare_restore(settings.database_url, Path(path)) as prepared:
            info = prepared.info
            typer.echo(
                f"checked {path}: a backup at revision {info.revision}, "
                f"{info.tables} tables, {info.checked}"
            )
            if not yes:
                if not typer.confirm(
                    "This replaces everything in the configured database. Continue?",
                    default=False,
                ):
                    fail("restore cancelled", code=1)
                refuse_while_used()  # a process may have started while we asked
            kept = prepared.keep_current(settings.var_dir)
            if kept is not None:
                typer.echo(f"the database it replaces is kept at {kept}")
            prepared.replace_current()
    except bk.BackupError as exc:
        fail(str(exc))
        return
    typer.echo(f"database restored from {path}")
    if info.older:
        typer.secho(
            f"the backup is at revision {info.revision}, older than this dcc ({info.head}): "
            "run `dcc db upgrade` before starting web, worker and bot",
            fg=typer.colors.YELLOW,
        )
