"""Accounts: creation, look-up, roles, language, passwords, (de)activation.

Beside it: signing in (:mod:`.signin`, throttled by :mod:`.throttle`), web sessions
(:mod:`.sessions`), API tokens (:mod:`.tokens`), invitations (:mod:`.team`), the audit
log (:mod:`.auditlog`) and password hashing (:mod:`.credentials`).
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import ADMIN_ROLES, LANGUAGES, ROLES
from devops_center.errors import Conflict, Forbidden, Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.outbox import messages as jobs
from devops_center.outbox import service as outbox
from devops_center.users import auditlog, credentials
from devops_center.users import sessions as user_sessions
from devops_center.users.access import SCOPES as SCOPES
from devops_center.users.models import User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    *,
    name: str,
    role: str = "employee",
    email: str | None = None,
    password: str | None = None,
    telegram_id: int | None = None,
    telegram_username: str | None = None,
    language: str | None = None,
) -> User:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name or len(name) > 200:
        errors["name"] = lazy("Name must be 1 to 200 characters")
    if role not in ROLES:
        errors["role"] = lazy("Unknown role")
    if email is not None:
        email = normalize_email(email)
        if not EMAIL_RE.match(email) or len(email) > 254:
            errors["email"] = lazy("Not a valid email address")
    if email is None and telegram_id is None:
        errors["email"] = lazy("An email or a Telegram id is required")
    if password is not None and len(password) < 8:
        errors["password"] = lazy("The password must have at least 8 characters")
    if language is not None and language not in LANGUAGES:
        errors["language"] = lazy("Unknown language")
    if errors:
        raise Invalid(lazy("Invalid user"), fields=errors)
    if email is not None and await get_by_email(session, email=email) is not None:
        raise Conflict(lazy("A user with this email already exists"))
    if telegram_id is not None and await get_by_telegram_id(session, telegram_id=telegram_id):
        raise Conflict(lazy("A user with this Telegram id already exists"))
    user = User(
        name=name,
        role=role,
        email=email,
        password_hash=credentials.hash_password(password) if password else None,
        telegram_id=telegram_id,
        telegram_username=telegram_username,
        language=language,
    )
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(lazy("No such user"))
    return user


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == normalize_email(email)))
    return result.scalar_one_or_none()


async def get_by_telegram_id(session: AsyncSession, *, telegram_id: int) -> User | None:
    result = await session.execute(select(User).where(User.telegram_id == telegram_id))
    return result.scalar_one_or_none()


async def list_users(session: AsyncSession, *, role: str | None = None) -> list[User]:
    stmt = select(User).order_by(User.id)
    if role:
        stmt = stmt.where(User.role == role)
    return list((await session.execute(stmt)).scalars())


async def list_admins(session: AsyncSession) -> list[User]:
    stmt = select(User).where(User.role.in_(ADMIN_ROLES), User.is_active).order_by(User.id)
    return list((await session.execute(stmt)).scalars())


def is_admin(user: User | None) -> bool:
    return user is not None and user.is_active and user.role in ADMIN_ROLES


# A team lead (manager) reads what owners read about the team's work — the DevOps
# dashboard, deployments, incidents, status and bug triage — and changes none of it;
# settings, users, tokens, the FAQ and the audit log stay with owners.
READER_ROLES = ("manager", *ADMIN_ROLES)


def can_read_team_pages(user: User | None) -> bool:
    return user is not None and user.is_active and user.role in READER_ROLES


def require_admin(user: User | None) -> User:
    if user is None or not is_admin(user):
        raise Forbidden(lazy("Only owners and superadmins may do this"))
    return user


async def _keep_an_owner(session: AsyncSession, user: User) -> None:
    """Conflict when ``user`` is the last active owner (about to lose the role or the
    account). The active owners' rows are locked first, so two owners demoting each
    other at once cannot both succeed."""
    if user.role != "owner" or not user.is_active:
        return
    stmt = select(User.id).where(User.role == "owner", User.is_active).with_for_update()
    owners = list((await session.execute(stmt)).scalars())
    if owners == [user.id] or not owners:
        raise Conflict(lazy("The last owner cannot be removed: make someone else an owner first"))


GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


async def set_github_login(
    session: AsyncSession,
    *,
    user_id: int,
    login: str | None,
    actor_id: int | None,
    ip: str | None = None,
) -> User:
    """Link a user to their GitHub login ("" or None unlinks): the pull requests they
    author become theirs in the changelog. One user per login."""
    cleaned = (login or "").strip().lstrip("@").lower() or None
    if cleaned is not None and not GITHUB_LOGIN.match(cleaned):
        message = lazy("Not a GitHub login")
        raise Invalid(message, fields={"github_login": message})
    user = await get_user(session, user_id=user_id)
    if cleaned == user.github_login:
        return user
    if cleaned is not None:
        taken = await session.scalar(
            select(User.id).where(User.github_login == cleaned, User.id != user.id)
        )
        if taken is not None:
            message = lazy("Another user has this GitHub login")
            raise Invalid(message, fields={"github_login": message})
    old, user.github_login = user.github_login, cleaned
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="user",
        entity_id=user.id,
        action="set_github_login",
        details={"github_login": [old, cleaned]},
        ip=ip,
    )
    return user


async def set_role(
    session: AsyncSession,
    *,
    user_id: int,
    role: str,
    actor_id: int | None,
    ip: str | None = None,
) -> User:
    if role not in ROLES:
        raise Invalid(lazy("Unknown role"), fields={"role": lazy("Unknown role")})
    user = await get_user(session, user_id=user_id)
    old = user.role
    if old == role:
        return user
    await _keep_an_owner(session, user)
    user.role = role
    # A new role is a new set of rights: every session signs in again to get it.
    await user_sessions.end_all(session, user_id=user.id)
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="user",
        entity_id=user.id,
        action="set_role",
        details={"role": [old, role]},
        ip=ip,
    )
    await _commands_changed(session, user)
    return user


async def _commands_changed(session: AsyncSession, user: User) -> None:
    """A running bot shows this user's new commands without a restart (the worker sets
    them for their chat)."""
    if user.telegram_id:
        await outbox.enqueue(session, jobs.SetChatCommands(user_id=user.id))


async def set_language(session: AsyncSession, *, user_id: int, language: str) -> User:
    if language not in LANGUAGES:
        raise Invalid(lazy("Unknown language"), fields={"language": lazy("Unknown language")})
    user = await get_user(session, user_id=user_id)
    if user.language != language:
        user.language = language
        await _commands_changed(session, user)
    return user


NOTIFY_CHANNELS = ("telegram", "none")


async def set_notify_via(session: AsyncSession, *, user_id: int, channel: str) -> User:
    """How the person hears about their bugs: ``telegram`` or ``none``."""
    if channel not in NOTIFY_CHANNELS:
        message = lazy("Choose Telegram or no notifications")
        raise Invalid(message, fields={"notify_via": message})
    user = await get_user(session, user_id=user_id)
    user.notify_via = channel
    return user


async def set_password(session: AsyncSession, *, user_id: int, password: str) -> User:
    if len(password) < 8:
        raise Invalid(
            lazy("Invalid password"),
            fields={"password": lazy("The password must have at least 8 characters")},
        )
    user = await get_user(session, user_id=user_id)
    user.password_hash = await asyncio.to_thread(credentials.hash_password, password)
    await user_sessions.end_all(session, user_id=user.id)  # whoever knew the old one is out
    return user


async def change_own_password(
    session: AsyncSession, *, user: User, current: str, new: str, again: str
) -> User:
    """The web's "change my password": the current one must be right, the new one typed
    twice. Ends every session of the user (the caller starts a new one for this device)."""
    errors: dict[str, str] = {}
    if not user.password_hash or not await asyncio.to_thread(
        credentials.verify_password, user.password_hash, current
    ):
        errors["current"] = lazy("The current password is wrong")
    if len(new) < 8:
        errors["new"] = lazy("The password must have at least 8 characters")
    elif new != again:
        errors["again"] = lazy("The two new passwords differ")
    if errors:
        raise Invalid(lazy("The password was not changed"), fields=errors)
    return await set_password(session, user_id=user.id, password=new)


async def set_active(
    session: AsyncSession,
    *,
    user_id: int,
    active: bool,
    actor_id: int | None,
    ip: str | None = None,
) -> User:
    """Deactivate (every session ends at once, sign-in and the user's API tokens refused)
    or reactivate an account. The last active owner cannot be deactivated."""
    user = await get_user(session, user_id=user_id)
    if user.is_active == active:
        return user
    if not active:
        await _keep_an_owner(session, user)
    user.is_active = active
    if not active:
        await user_sessions.end_all(session, user_id=user.id)
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="user",
        entity_id=user.id,
        action="activate" if active else "deactivate",
        ip=ip,
    )
    return user
