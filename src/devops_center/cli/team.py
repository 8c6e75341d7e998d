"""``dcc users invite`` (registered on ``users_app`` by the package) and ``dcc audit``:
the same functions as the web's users and audit log pages (``users.team``,
``users.auditlog``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from devops_center.cli.common import echo_result, fail, load_settings, run, with_session
from devops_center.config import ROLES

audit_app = typer.Typer(help="The audit log: who changed what, when, from where.")


def users_invite(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = "employee",
    email: Annotated[
        str | None, typer.Option(help="An email invitation for this address (a web link).")
    ] = None,
    telegram: Annotated[
        bool, typer.Option("--telegram", help="A Telegram invitation (a link to the bot).")
    ] = False,
    name: Annotated[str | None, typer.Option(help="The person's name (optional).")] = None,
) -> None:
    """Make a one-time invitation (valid 7 days) and print its link."""
    from devops_center.notify import links
    from devops_center.users import team

    if bool(email) == telegram:
        fail("give either --email ADDRESS or --telegram")
    settings = load_settings()
    channel = "telegram" if telegram else "email"

    async def go(session: Any) -> str:
        invite, token = await team.create_invite(
            session, channel=channel, role=role, email=email, name=name, actor_id=None
        )
        link = await links.invite_link(session, settings, channel=channel, token=token)
        if link is None:
            return (
                f"invitation {invite.id} made, but the bot's name is unknown: start the bot "
                f"once or set DCC_TELEGRAM_BOT_USERNAME; the /start payload is "
                f"{team.INVITE_PAYLOAD}{token}"
            )
        until = f"{invite.expires_at:%Y-%m-%d}"
        return f"invitation {invite.id} ({channel}, {role}, until {until}):\n{link}"

    echo_result(settings, go, with_fields=True)


@audit_app.command("list")
def audit_list(
    entity: Annotated[str | None, typer.Option(help="user, invite, token, bug, faq …")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The newest entries of the audit log."""
    from devops_center.users import auditlog

    settings = load_settings()

    async def go(session: Any) -> list[auditlog.Entry]:
        return await auditlog.entries(session, entity=entity, limit=limit)

    for e in run(with_session(settings, go)):
        who = e.actor_email or e.actor_name or (f"#{e.actor_id}" if e.actor_id else "system/cli")
        if as_json:
            row = {
                "id": e.id,
                "at": e.created_at.isoformat(),
                "actor": who,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "action": e.action,
                "details": e.details,
                "ip": e.ip,
            }
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            target = f"{e.entity}#{e.entity_id}" if e.entity_id is not None else e.entity
            details = json.dumps(e.details, ensure_ascii=False) if e.details else ""
            typer.echo(
                f"{e.created_at:%Y-%m-%d %H:%M:%S} {who} {e.action} {target} "
                f"{e.ip or '-'} {details}".rstrip()
            )
