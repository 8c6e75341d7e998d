"""``dcc arch``: scans of Python trees into the architecture map."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from devops_center.cli.common import fail, load_settings, run, with_session

arch_app = typer.Typer(help="Architecture map: module import graphs.", no_args_is_help=True)


@arch_app.command("scan")
def arch_scan(
    path: Annotated[str, typer.Argument(help="A package, or a directory (src/ layouts too).")],
    name: Annotated[
        str | None, typer.Option(help="Scan name (default: the directory's name).")
    ] = None,
    commit: Annotated[str | None, typer.Option(help="The commit SHA the tree is at.")] = None,
) -> None:
    """Parse a Python source tree (never importing it) and store its import graph; a
    scan of the same name is replaced."""
    from pathlib import Path

    from devops_center.architecture import service as architecture
    from devops_center.architecture.parser import ScanError
    from devops_center.errors import Invalid

    settings = load_settings()
    root = Path(path).resolve()
    try:
        result = architecture.scan_directory(root)
    except ScanError as exc:
        fail(str(exc))
        return

    async def store(session: Any) -> Any:
        return await architecture.store_scan(
            session,
            name=name or root.name,
            result=result,
            source="path",
            location=str(root),
            commit_sha=commit,
        )

    try:
        stored = run(with_session(settings, store))
    except Invalid as exc:
        fail(exc.message)
        return
    for problem in result.tree.problems:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        typer.secho(f"skipped {where}: {problem.message}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"{stored.name}: {stored.module_count} modules, {stored.edge_count} edges, "
        f"{stored.package_count} packages, {stored.cycle_count} cycles, {stored.loc} lines, "
        f"{len(result.tree.problems)} skipped, in {result.seconds:.2f} s"
    )


@arch_app.command("list")
def arch_list() -> None:
    """Every stored scan."""
    from devops_center.architecture import service as architecture

    settings = load_settings()

    async def go(session: Any) -> list[str]:
        return [
            f"{s.name}\t{s.source}\t{s.commit_sha or '-'}\t{s.scanned_at:%Y-%m-%d %H:%M}Z\t"
            f"{s.module_count} modules\t{s.edge_count} edges\t{s.cycle_count} cycles"
            for s in await architecture.list_scans(session)
        ]

    lines = run(with_session(settings, go))
    for line in lines or ["no scans yet"]:
        typer.echo(line)


@arch_app.command("scan-github")
def arch_scan_github(
    force: Annotated[bool, typer.Option(help="Rescan even if the commit was scanned.")] = True,
) -> None:
    """Queue a scan of GITHUB_REPO's default branch (the worker downloads and scans it)."""
    from devops_center.architecture import service as architecture

    settings = load_settings()
    if not settings.github_enabled().enabled:
        fail(f"GitHub is off: {settings.github_enabled().why}")
    queued = run(with_session(settings, lambda s: architecture.enqueue_github_scan(s, force=force)))
    typer.echo("scan queued" if queued else "a scan is already waiting")
