"""The ``dcc`` command line (Typer). ``dcc --help`` lists everything."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from devops_center.config import ROLES, ConfigError, Settings, get_settings

T = TypeVar("T")

app = typer.Typer(
    name="dcc",
    help="DevOps Command Center: support hub and DevOps cockpit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for /api/v1 (CI, Prometheus).", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs (the outbox).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(config_app, name="config")
app.add_typer(jobs_app, name="jobs")

HostOpt = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)]


def fail(message: str, code: int = 2) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Settings:
    try:
        return get_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))
        raise AssertionError from exc  # unreachable


def setup_logging(settings: Settings) -> None:
    from devops_center.logsetup import configure

    configure(settings)


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def with_session(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(session)`` in one transaction against the configured database."""
    from devops_center.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            return await fn(session)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------- serving


@app.command()
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


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8001) -> None:
    """Everything in one process: web, worker, and the bot when a token is set."""
    settings = load_settings()
    setup_logging(settings)
    _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    from devops_center.cli.embedded import run_embedded

    run(run_embedded(settings, host=host, port=port))


@app.command()
def web(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8001,
    workers: Annotated[int, typer.Option(help="Web worker processes.", min=1)] = 1,
) -> None:
    """The web app alone (production: run several, behind a proxy)."""
    import os

    import uvicorn

    from devops_center.config import served_at

    settings = load_settings()
    setup_logging(settings)
    # The worker processes read their settings anew: hand them the address they serve.
    os.environ["DCC_BASE_URL"] = served_at(settings, host, port).base_url
    if workers > 1:
        from devops_center.web.metrics import prepare_multiprocess_dir

        prepare_multiprocess_dir(settings)  # /metrics merges every worker's counters
    uvicorn.run(
        "devops_center.web.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


@app.command()
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


@app.command()
def bot() -> None:
    """The Telegram bot alone (long polling, or webhook set-up when configured)."""
    from devops_center.cli.embedded import run_bot_process

    settings = load_settings()
    setup_logging(settings)
    if not settings.telegram_enabled().enabled:
        fail(f"bot is off: {settings.telegram_enabled().why}")
    run(run_bot_process(settings))


# ------------------------------------------------------------------------ database


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


# --------------------------------------------------------------------------- users


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = "employee",
    email: Annotated[str | None, typer.Option(help="Sign-in email.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (prompted for when omitted).")
    ] = None,
    telegram_id: Annotated[int | None, typer.Option(help="Telegram user id.")] = None,
    language: Annotated[str | None, typer.Option(help="ru or en.")] = None,
) -> None:
    """Create a user (the password is asked for when --email is given without it)."""
    from devops_center.errors import DomainError
    from devops_center.users import service as users

    if role not in ROLES:
        fail(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if email and password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Repeat: ") != password:
                fail("passwords differ")
    settings = load_settings()

    async def go(session: Any) -> str:
        user = await users.create_user(
            session,
            name=name,
            role=role,
            email=email,
            password=password,
            telegram_id=telegram_id,
            language=language,
        )
        return f"created user {user.id}: {user.name} <{user.email or user.telegram_id}> ({role})"

    try:
        typer.echo(run(with_session(settings, go)))
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "fields", {}).items())
        fail(f"{exc.message}{': ' + details if details else ''}")


@users_app.command("list")
def users_list() -> None:
    """List users."""
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> list[str]:
        return [
            f"{u.id:>5}  {u.role:<11} {u.email or '-':<30} {u.telegram_id or '-':<12} {u.name}"
            for u in await users.list_users(session)
        ]

    for line in run(with_session(settings, go)):
        typer.echo(line)


@users_app.command("set-role")
def users_set_role(user_id: int, role: str) -> None:
    """Change a user's role."""
    from devops_center.errors import DomainError
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> str:
        before = (await users.get_user(session, user_id=user_id)).role
        user = await users.set_role(session, user_id=user_id, role=role, actor_id=None)
        if user.role == before:
            return f"user {user.id} is already {user.role}"
        return f"user {user.id} is now {user.role}; their web sessions were signed out"

    try:
        typer.echo(run(with_session(settings, go)))
    except DomainError as exc:
        fail(exc.message)


@users_app.command("set-password")
def users_set_password(user_id: int) -> None:
    """Set a user's password (read from the terminal or standard input)."""
    from devops_center.errors import DomainError
    from devops_center.users import service as users

    password = (
        getpass.getpass("New password: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    )
    settings = load_settings()

    async def go(session: Any) -> str:
        await users.set_password(session, user_id=user_id, password=password)
        return f"password of user {user_id} changed; their web sessions were signed out"

    try:
        typer.echo(run(with_session(settings, go)))
    except DomainError as exc:
        fail(exc.message)


def _set_active(user_id: int, active: bool) -> None:
    from devops_center.errors import DomainError
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> str:
        user = await users.set_active(session, user_id=user_id, active=active, actor_id=None)
        if active:
            return f"user {user.id} is active"
        return f"user {user.id} is deactivated; their web sessions were signed out"

    try:
        typer.echo(run(with_session(settings, go)))
    except DomainError as exc:
        fail(exc.message)


@users_app.command("deactivate")
def users_deactivate(user_id: int) -> None:
    """Deactivate a user: every web session ends and sign-in is refused."""
    _set_active(user_id, False)


@users_app.command("activate")
def users_activate(user_id: int) -> None:
    """Let a deactivated user sign in again."""
    _set_active(user_id, True)


# -------------------------------------------------------------------------- tokens


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="What the token is for, e.g. ci.")],
    scope: Annotated[list[str], typer.Option(help="Scope; repeat for several.")],
    user: Annotated[
        str | None,
        typer.Option(
            help="Email of the user the token acts as (within their role); "
            "without: an integration acting with its scopes alone."
        ),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Days until it stops working.")
    ] = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from datetime import timedelta

    from devops_center.db import utcnow
    from devops_center.errors import DomainError, Invalid
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> str:
        user_id = await users.active_user_id(session, email=user) if user else None
        _token, plaintext = await users.create_token(
            session,
            name=name,
            scopes=scope,
            user_id=user_id,
            expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
        )
        return plaintext

    try:
        plaintext = run(with_session(settings, go))
    except Invalid as exc:
        fields = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        fail(f"{exc.message} ({fields}); known scopes: {', '.join(users.SCOPES)}")
        return
    except DomainError as exc:
        fail(exc.message)
        return
    typer.echo(plaintext)
    typer.secho("Store it now: it cannot be shown again.", err=True, fg=typer.colors.YELLOW)


@tokens_app.command("list")
def tokens_list() -> None:
    """List API tokens (never their values): scopes, who they act as, expiry, last use."""
    from devops_center.db import utcnow
    from devops_center.users import service as users

    settings = load_settings()

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "-"

    async def go(session: Any) -> list[str]:
        people = {u.id: u for u in await users.list_users(session)}
        now = utcnow()
        lines = []
        for t in await users.list_tokens(session):
            state = "active"
            if t.revoked_at:
                state = "revoked"
            elif t.expires_at and t.expires_at <= now:
                state = "expired"
            owner = people[t.user_id].email or people[t.user_id].name if t.user_id else None
            lines.append(
                f"{t.id:>4}  {t.prefix}…  {t.name:<20} {t.scopes:<30} "
                f"{'as ' + str(owner) if owner else 'integration':<28} "
                f"expires {when(t.expires_at):<16} used {when(t.last_used_at):<16} {state}"
            )
        return lines

    for line in run(with_session(settings, go)):
        typer.echo(line)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke an API token."""
    from devops_center.errors import DomainError
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> str:
        token = await users.revoke_token(session, token_id=token_id)
        return f"token {token.id} ({token.name}) revoked"

    try:
        typer.echo(run(with_session(settings, go)))
    except DomainError as exc:
        fail(exc.message)


# -------------------------------------------------------------------------- config


@config_app.command("check")
def config_check() -> None:
    """Print every setting (secrets masked) and which integrations are on or off, and why."""
    from devops_center.cli.config_report import report
    from devops_center.support import uploads

    settings = load_settings()
    for line in report(settings):
        typer.echo(line)
    if uploads.storage_problem(settings):
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- jobs


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

    for line in run(with_session(settings, go)):
        typer.echo(line)


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Put a failed job back in the queue."""
    from devops_center.errors import DomainError
    from devops_center.outbox import service as outbox

    settings = load_settings()

    async def go(session: Any) -> str:
        job = await outbox.retry_job(session, job_id=job_id)
        return f"job {job.id} ({job.kind}) queued again"

    try:
        typer.echo(run(with_session(settings, go)))
    except DomainError as exc:
        fail(exc.message)


# -------------------------------------------------------------------------- backup


@app.command()
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


@app.command()
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


# -------------------------------------------------------------------------- github

github_app = typer.Typer(help="GitHub integration: status, sync, webhook replay.")
app.add_typer(github_app, name="github")


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

    for line in run(with_session(settings, go)):
        typer.echo(line)


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


# -------------------------------------------------------------------------- status


@app.command("status")
def status_command(
    probe: Annotated[bool, typer.Option(help="Probe every check now (no state change).")] = False,
) -> None:
    """Every system check: state, response time, uptime over 24 h, since when."""
    from devops_center.cli.status_report import status_lines

    settings = load_settings()
    for line in run(status_lines(settings, probe=probe)):
        typer.echo(line)


# ------------------------------------------------------------------ digest (bot feature)


@app.command()
def digest(
    which: Annotated[str, typer.Argument(help="morning or devops")] = "morning",
    lang: Annotated[str, typer.Option(help="ru or en (default: DCC_DEFAULT_LANGUAGE)")] = "",
) -> None:
    """Print the text of /morning or /devops, as the bot and the daily digest send it."""
    import html

    from devops_center.digest import service as digest_service

    if which not in ("morning", "devops"):
        fail("digest: choose morning or devops")
    settings = load_settings()
    language = lang if lang in ("ru", "en") else settings.default_language
    build = digest_service.morning_text if which == "morning" else digest_service.devops_text
    text = run(with_session(settings, lambda s: build(s, settings=settings, lang=language)))
    typer.echo(html.unescape(text))  # Telegram HTML → plain text for the terminal


# --------------------------------------------------------------- architecture map

arch_app = typer.Typer(help="Architecture map: module import graphs.", no_args_is_help=True)
app.add_typer(arch_app, name="arch")


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


def main() -> None:
    logging.captureWarnings(True)
    app()


# ------------------------------------------------------------------------- deploy
from devops_center.cli.deploy import deploy_app  # noqa: E402

app.add_typer(deploy_app, name="deploy")

# ------------------------------------------------- support brain and FAQ files (issue 18)
from devops_center.cli.brain import brain_app, faq_app  # noqa: E402

app.add_typer(brain_app, name="brain")
app.add_typer(faq_app, name="faq")
