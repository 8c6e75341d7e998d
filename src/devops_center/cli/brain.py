"""``dcc brain`` (the support brain's index) and ``dcc faq`` (FAQ import / export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from devops_center.cli.common import fail, load_settings, run, with_session

brain_app = typer.Typer(help="The support brain (multilingual FAQ search).", no_args_is_help=True)
faq_app = typer.Typer(help="FAQ entries as JSON files.", no_args_is_help=True)


@brain_app.command("status")
def brain_status() -> None:
    """Which embedding model search uses here, and how many documents carry its vectors."""
    from sqlalchemy import func, select

    from devops_center.brain import embedder
    from devops_center.brain.models import BrainDocument

    settings = load_settings()
    state = embedder.status(settings.embedding_model)
    typer.echo(f"model: {state.why}" + ("" if state.available else " -> lexical search"))

    async def counts(session: Any) -> list[Any]:
        rows = await session.execute(
            select(BrainDocument.kind, BrainDocument.model, func.count()).group_by(
                BrainDocument.kind, BrainDocument.model
            )
        )
        return list(rows)

    for kind, model, count in run(with_session(settings, counts)):
        typer.echo(f"{kind}: {count} documents, vectors of {model or 'no model'}")


@brain_app.command("reindex")
def brain_reindex(
    batch: Annotated[int, typer.Option(help="Entries embedded at a time.", min=1)] = 64,
) -> None:
    """Embed every FAQ entry, bug and changelog entry whose text or model changed (with a
    progress bar for the FAQ); drop the documents of deleted ones. Safe to run again."""
    from devops_center.brain import index

    settings = load_settings()
    model = settings.embedding_model

    async def go(session: Any) -> tuple[index.ReindexReport, int]:
        with typer.progressbar(length=1, label="faq", show_pos=True) as bar:
            seen = 0

            def progress(done: int, total: int) -> None:
                nonlocal seen
                bar.length = max(total, 1)
                bar.update(done - seen)
                seen = done

            faq = await index.reindex_faq(session, model=model, batch=batch, progress=progress)
        others = await index.reindex_others(session, model=model, batch=batch)
        return faq, others

    report, others = run(with_session(settings, go))
    typer.echo(
        f"faq: {report.total} entries, {report.embedded} (re)indexed, "
        f"{report.removed} removed; bugs and changelog: {others} (re)indexed or removed; "
        f"vectors: {report.model or 'none (lexical search only)'}"
    )


@faq_app.command("import")
def faq_import(
    file: Annotated[
        Path, typer.Argument(help="JSON list of {category, question, answer, language}.")
    ],
) -> None:
    """Create or update FAQ entries from a JSON file (idempotent by question) and index them."""
    from devops_center.brain import index
    from devops_center.support import faq_io

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"faq import: cannot read {file}: {exc}")
    settings = load_settings()

    async def go(session: Any) -> faq_io.ImportReport:
        report = await faq_io.import_entries(session, data)
        for faq_id in report.changed_ids:
            await index.index_faq(session, faq_id, model=settings.embedding_model)
        return report

    try:
        report = run(with_session(settings, go))
    except faq_io.FaqFileError as exc:
        fail(f"faq import: {exc} (nothing imported)", code=1)
    typer.echo(
        f"faq import: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.linked} translations paired"
    )


@faq_app.command("export")
def faq_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Every FAQ entry as JSON, in the format `dcc faq import` reads."""
    from devops_center.support import faq_io

    settings = load_settings()
    entries = run(with_session(settings, faq_io.export_entries))
    text = json.dumps(entries, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"faq export: {len(entries)} entries written to {output}", err=True)
