"""``dcc users``: accounts, roles, passwords, (de)activation and invitations."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer

from devops_center.cli.common import echo_result, fail, load_settings
from devops_center.cli.team import users_invite
from devops_center.config import ROLES

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)


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
    from devops_center.users import team

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
        user = await team.add_member(
            session,
            name=name,
            role=role,
            email=email,
            password=password,
            telegram_id=telegram_id,
            language=language,
            actor_id=None,
            via="cli",
        )
        return f"created user {user.id}: {user.name} <{user.email or user.telegram_id}> ({role})"

    echo_result(settings, go, with_fields=True)


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

    echo_result(settings, go)


@users_app.command("set-role")
def users_set_role(user_id: int, role: str) -> None:
    """Change a user's role."""
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> str:
        before = (await users.get_user(session, user_id=user_id)).role
        user = await users.set_role(session, user_id=user_id, role=role, actor_id=None)
        if user.role == before:
            return f"user {user.id} is already {user.role}"
        return f"user {user.id} is now {user.role}; their web sessions were signed out"

    echo_result(settings, go)


@users_app.command("set-github")
def users_set_github(user_id: int, login: str) -> None:
    """Link a user to their GitHub login ("" unlinks): the changelog credits them with
    the pull requests they author."""
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> str:
        user = await users.set_github_login(session, user_id=user_id, login=login, actor_id=None)
        if user.github_login is None:
            return f"user {user.id} has no GitHub login"
        return f"user {user.id} is @{user.github_login} on GitHub"

    echo_result(settings, go)


@users_app.command("set-password")
def users_set_password(user_id: int) -> None:
    """Set a user's password (read from the terminal or standard input)."""
    from devops_center.users import service as users

    password = (
        getpass.getpass("New password: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    )
    settings = load_settings()

    async def go(session: Any) -> str:
        await users.set_password(session, user_id=user_id, password=password)
        return f"password of user {user_id} changed; their web sessions were signed out"

    echo_result(settings, go)


def _set_active(user_id: int, active: bool) -> None:
    from devops_center.users import service as users

    settings = load_settings()

    async def go(session: Any) -> str:
        user = await users.set_active(session, user_id=user_id, active=active, actor_id=None)
        if active:
            return f"user {user.id} is active"
        return f"user {user.id} is deactivated; their web sessions were signed out"

    echo_result(settings, go)


@users_app.command("deactivate")
def users_deactivate(user_id: int) -> None:
    """Deactivate a user: every web session ends and sign-in is refused."""
    _set_active(user_id, False)


@users_app.command("activate")
def users_activate(user_id: int) -> None:
    """Let a deactivated user sign in again."""
    _set_active(user_id, True)


users_app.command("invite")(users_invite)
