"""``dcc deploy record``: register a deployment from CI (a thin client of the JSON API).

    dcc deploy record --url https://dcc.example.com --token "$DCC_TOKEN" \\
        --sha "$GITHUB_SHA" --status success --junit report.xml

It POSTs to ``/api/v1/deployments`` (token scope ``deployments:write``) and exits
non-zero with the server's message when the server refuses. In GitHub Actions the
commit, run id/attempt (the ``external_id``, so a re-run step never double counts),
actor and repository name come from the environment when not given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from devops_center.inputs import is_http_url

deploy_app = typer.Typer(
    help="Deployments: register one from CI, import history.", no_args_is_help=True
)

STATUSES = ("in_progress", "success", "failed", "rolled_back")
KINDS = ("normal", "rollback", "hotfix")


@dataclass(frozen=True)
class JUnitCounts:
    passed: int
    failed: int
    skipped: int


def parse_junit(path: Path) -> JUnitCounts:
    """Passed/failed/skipped test cases of a JUnit XML report (pytest, jest, maven …).

    Parsed with defusedxml: a report is input from a build and is not trusted."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.parse(str(path)).getroot()
    except (OSError, ElementTree.ParseError, DefusedXmlException) as exc:
        raise ValueError(f"cannot read JUnit report {path}: {exc}") from exc
    if root is None:
        raise ValueError(f"{path} is empty")
    cases = list(root.iter("testcase"))
    if cases:
        failed = skipped = 0
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None:
                skipped += 1
        return JUnitCounts(len(cases) - failed - skipped, failed, skipped)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    if root.tag not in ("testsuite", "testsuites"):
        raise ValueError(f"{path} is not a JUnit XML report (root <{root.tag}>)")

    def attr(el: Any, name: str) -> int:
        try:
            return int(float(el.get(name, "0") or 0))
        except ValueError:
            return 0

    tests = sum(attr(s, "tests") for s in suites)
    failed = sum(attr(s, "failures") + attr(s, "errors") for s in suites)
    skipped = sum(attr(s, "skipped") for s in suites)
    return JUnitCounts(max(0, tests - failed - skipped), failed, skipped)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _default_external_id() -> str | None:
    run, attempt = os.environ.get("GITHUB_RUN_ID"), os.environ.get("GITHUB_RUN_ATTEMPT")
    return f"{run}-{attempt or 1}" if run else None


def _default_service() -> str | None:
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    return repo.split("/", 1)[1] if "/" in repo else None


def format_error(status: int, body: Any) -> str:
    """The server's message in one readable block (every field of a 422).

    The server answers problem documents (RFC 9457): ``detail`` and, for a 422,
    ``errors`` with each field; an older server listed the fields in ``detail``."""
    detail = body.get("detail") if isinstance(body, dict) else None
    items = body.get("errors") if isinstance(body, dict) else None
    if isinstance(detail, list):
        items, detail = detail, None
    if isinstance(items, list) and items:
        lines = []
        for item in items:
            if not isinstance(item, dict):
                continue
            loc = [str(p) for p in item.get("loc", []) if p != "body"]
            lines.append(f"  {'.'.join(loc) or 'request'}: {item.get('msg', '')}")
        return f"server refused the deployment ({status}):\n" + "\n".join(lines)
    if isinstance(detail, str):
        return f"server refused the deployment ({status}): {detail}"
    return f"server answered {status}"


def send(url: str, token: str, payload: dict[str, Any], *, timeout: float = 30.0) -> Any:
    """POST the deployment; returns (status, JSON). Raises ``RuntimeError`` with a message."""
    import httpx

    endpoint = url.rstrip("/") + "/api/v1/deployments"
    try:
        response = httpx.post(
            endpoint,
            json=payload,
            headers={"authorization": f"Bearer {token}", "user-agent": "dcc-deploy"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise RuntimeError(f"cannot reach {endpoint}: {type(exc).__name__}: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code not in (200, 201):
        raise RuntimeError(format_error(response.status_code, body))
    return response.status_code, body


@deploy_app.command("record")
def record(
    url: Annotated[
        str, typer.Option(envvar="DCC_URL", help="The Command Center, e.g. https://dcc.example.com")
    ],
    token: Annotated[
        str, typer.Option(envvar="DCC_TOKEN", help="API token with scope deployments:write.")
    ],
    sha: Annotated[str, typer.Option(envvar="GITHUB_SHA", help="The deployed commit.")],
    status: Annotated[str, typer.Option(help="in_progress, success, failed or rolled_back.")],
    service: Annotated[
        str | None, typer.Option(help="Service name (default: the repository's name).")
    ] = None,
    environment: Annotated[str, typer.Option(help="Environment.")] = "production",
    kind: Annotated[str, typer.Option(help="normal, rollback or hotfix.")] = "normal",
    external_id: Annotated[
        str | None,
        typer.Option(help="Upsert key (default: $GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT)."),
    ] = None,
    started_at: Annotated[str | None, typer.Option(help="ISO 8601 start (default: now).")] = None,
    completed_at: Annotated[
        str | None, typer.Option(help="ISO 8601 end (default: now unless in_progress).")
    ] = None,
    message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
    triggered_by: Annotated[
        str | None, typer.Option(envvar="GITHUB_ACTOR", help="Who deployed.")
    ] = None,
    tests_passed: Annotated[int | None, typer.Option(min=0)] = None,
    tests_failed: Annotated[int | None, typer.Option(min=0)] = None,
    junit: Annotated[
        list[Path] | None,
        typer.Option(help="JUnit XML report(s): tests passed/failed are read from them."),
    ] = None,
    link: Annotated[str | None, typer.Option(help="A link to the run or release.")] = None,
    reason: Annotated[
        str | None,
        typer.Option(help="Why it failed (failed or rolled_back only, ≤ 500 characters)."),
    ] = None,
) -> None:
    """Register (or update) a deployment in the Command Center."""
    if status not in STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(STATUSES)}", param_hint="--status")
    if kind not in KINDS:
        raise typer.BadParameter(f"use one of {', '.join(KINDS)}", param_hint="--kind")
    if link is not None and not is_http_url(link):
        raise typer.BadParameter(
            f"must be an http:// or https:// URL, got {link!r}", param_hint="--link"
        )
    if junit:
        passed = failed = 0
        for report in junit:
            try:
                counts = parse_junit(report)
            except ValueError as exc:
                typer.secho(str(exc), fg=typer.colors.RED, err=True)
                raise typer.Exit(2) from exc
            passed += counts.passed
            failed += counts.failed
        tests_passed = passed if tests_passed is None else tests_passed
        tests_failed = failed if tests_failed is None else tests_failed
    start = started_at or _now()
    payload: dict[str, Any] = {
        "commit_sha": sha,
        "status": status,
        "started_at": start,
        "environment": environment,
        "kind": kind,
        "commit_message": message,
        "triggered_by": triggered_by,
        "tests_passed": tests_passed,
        "tests_failed": tests_failed,
        "service": service or _default_service(),
        "external_id": external_id or _default_external_id(),
        "url": link,
        "failure_reason": reason,  # checked by the server, like every field
    }
    if status != "in_progress":
        payload["completed_at"] = completed_at or _now()
    elif completed_at:
        payload["completed_at"] = completed_at
    payload = {k: v for k, v in payload.items() if v is not None}
    try:
        code, body = send(url, token, payload)
    except RuntimeError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    verb = "registered" if code == 201 else "updated"
    typer.echo(
        f"deployment {body.get('id')} {verb}: {body.get('service')} {body.get('environment')} "
        f"{str(body.get('commit_sha'))[:7]} {body.get('status')}"
        + (
            f" (tests {body.get('tests_passed')} passed, {body.get('tests_failed')} failed)"
            if body.get("tests_passed") is not None
            else ""
        )
    )


@deploy_app.command("import")
def import_history(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="A JSON Lines file."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every line; store nothing.")
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=50_000,
            help="Deployments per transaction [default: 5000 on PostgreSQL, 25000 on SQLite].",
        ),
    ] = None,
    show: Annotated[int, typer.Option(min=0, help="Refused lines listed at most.")] = 50,
) -> None:
    """Import deployment history: one deployment per line, each exactly the body of
    POST /api/v1/deployments (commits included). Repeats of an external_id update the
    row, as the API does; refused lines are listed with their reasons and never stop
    the others. Exits 1 when a line was refused."""
    import time

    from devops_center.cli.common import load_settings, run
    from devops_center.db import make_engine, make_sessionmaker
    from devops_center.deployments import importer

    settings = load_settings()
    size = file.stat().st_size
    _require_migrated(settings.database_url)

    async def go(bar: Any) -> importer.Summary:
        engine = make_engine(settings.database_url, pool_size=2)
        try:
            with file.open("rb") as stream:
                return await importer.import_lines(
                    make_sessionmaker(engine),
                    importer.numbered_lines(stream),
                    settings=settings,
                    dry_run=dry_run,
                    batch_size=batch_size,
                    progress=bar.update,
                )
        finally:
            await engine.dispose()

    began = time.perf_counter()
    label = "checking" if dry_run else "importing"
    with typer.progressbar(length=size, label=label, file=None) as bar:
        summary = run(go(bar))
    took = time.perf_counter() - began
    verb = ("would import", "would update") if dry_run else ("imported", "updated")
    rate = summary.lines / took if took > 0 else 0.0
    typer.echo(
        f"{verb[0]} {summary.imported}, {verb[1]} {summary.updated}, "
        f"refused {len(summary.refused)} of {summary.lines} line(s) "
        f"in {took:.1f} s ({rate:,.0f} lines/s)"
    )
    for refusal in summary.refused[:show]:
        typer.secho(f"  line {refusal.line}: {refusal.reason}", fg=typer.colors.RED, err=True)
    if len(summary.refused) > show:
        typer.secho(f"  … and {len(summary.refused) - show} more", fg=typer.colors.RED, err=True)
    if summary.refused:
        raise typer.Exit(1)


def _require_migrated(database_url: str) -> None:
    """Stop at once, with what to do, when the database is not at this dcc's revision
    (every line would otherwise be refused with the database's own error)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from devops_center.cli.backups.common import revisions
    from devops_center.cli.common import fail, run
    from devops_center.db import make_engine

    async def revision() -> str | None:
        engine = make_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                found = await conn.execute(text("SELECT version_num FROM alembic_version"))
                value = found.scalar()
                return None if value is None else str(value)
        except DBAPIError:
            return None  # no alembic_version table: never migrated
        finally:
            await engine.dispose()

    _known, head = revisions()
    current = run(revision())
    if current != head:
        at = f"at revision {current}" if current else "not migrated"
        fail(f"the database is {at}, this dcc needs {head}: run `dcc db upgrade` first")
