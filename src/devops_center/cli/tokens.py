"""``dcc tokens``: API tokens for ``/api/v1``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from devops_center.cli.common import echo_result, fail, load_settings, run, with_session

tokens_app = typer.Typer(help="API tokens for /api/v1 (CI, Prometheus).", no_args_is_help=True)


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
    from devops_center.users import tokens as api_tokens
    from devops_center.users.access import SCOPES

    settings = load_settings()

    async def go(session: Any) -> str:
        user_id = await api_tokens.active_user_id(session, email=user) if user else None
        _token, plaintext = await api_tokens.create_token(
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
        fail(f"{exc.message} ({fields}); known scopes: {', '.join(SCOPES)}")
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
    from devops_center.users import tokens as api_tokens

    settings = load_settings()

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "-"

    async def go(session: Any) -> list[str]:
        people = {u.id: u for u in await users.list_users(session)}
        now = utcnow()
        lines = []
        for t in await api_tokens.list_tokens(session):
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

    echo_result(settings, go)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke an API token."""
    from devops_center.users import tokens as api_tokens

    settings = load_settings()

    async def go(session: Any) -> str:
        token = await api_tokens.revoke_token(session, token_id=token_id)
        return f"token {token.id} ({token.name}) revoked"

    echo_result(settings, go)
