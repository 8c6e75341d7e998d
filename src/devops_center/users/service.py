"""Accounts: creation, authentication, roles, API tokens, sign-in links.

Sign-in throttling is in :mod:`.throttle`, web sessions in :mod:`.sessions`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import threading
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import ADMIN_ROLES, LANGUAGES, ROLES
from devops_center.db import utcnow
from devops_center.errors import Conflict, Forbidden, Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.outbox import messages as jobs
from devops_center.outbox import service as outbox
from devops_center.users import sessions as user_sessions
from devops_center.users.access import SCOPES as SCOPES
from devops_center.users.access import Caller, role_scopes
from devops_center.users.models import ApiToken, AuditLog, LoginLink, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "dcc_"  # noqa: S105 - a public prefix, not a secret

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A real hash of a random password: unknown accounts are verified against it so that
    "no such user" and "wrong password" take the same time. Made on first use, not at
    import (it costs ~0.4 s, paid by every process start otherwise)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# Argon2 is made to be slow (about 0.4 s of CPU and 64 MiB here with argon2-cffi's
# defaults). Run on the event loop it stalls every other request of the process for
# that long, so sign-ins verify in a thread (the C code releases the GIL); one at a time
# per process, so that many sign-ins at once cost neither N x 64 MiB nor the web's CPU.
_argon2_slot = threading.Semaphore(1)


def _verify_password(stored: str, password: str) -> bool:
    with _argon2_slot:
        try:
            return bool(_hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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
        password_hash=hash_password(password) if password else None,
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


async def count_owners(session: AsyncSession) -> int:
    stmt = select(func.count()).where(User.role == "owner", User.is_active)
    return int(await session.scalar(stmt) or 0)


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
    await audit(
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


async def set_password(session: AsyncSession, *, user_id: int, password: str) -> User:
    if len(password) < 8:
        raise Invalid(
            lazy("Invalid password"),
            fields={"password": lazy("The password must have at least 8 characters")},
        )
    user = await get_user(session, user_id=user_id)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await user_sessions.end_all(session, user_id=user.id)  # whoever knew the old one is out
    return user


async def change_own_password(
    session: AsyncSession, *, user: User, current: str, new: str, again: str
) -> User:
    """The web's "change my password": the current one must be right, the new one typed
    twice. Ends every session of the user (the caller starts a new one for this device)."""
    errors: dict[str, str] = {}
    if not user.password_hash or not await asyncio.to_thread(
        _verify_password, user.password_hash, current
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
    await audit(
        session,
        actor_id=actor_id,
        entity="user",
        entity_id=user.id,
        action="activate" if active else "deactivate",
        ip=ip,
    )
    return user


# --------------------------------------------------------------------------- sign-in


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The user for these credentials, or None. Same work whether or not the user exists."""
    user = await get_by_email(session, email=email) if email else None
    stored = user.password_hash if user is not None and user.password_hash else None
    dummy = await asyncio.to_thread(_dummy_hash) if stored is None else ""
    ok = await asyncio.to_thread(_verify_password, stored or dummy, password)
    ok = ok and stored is not None
    if not ok or user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(stored or ""):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = utcnow()
    return user


async def create_login_link(
    session: AsyncSession, *, user_id: int, ttl: timedelta = timedelta(minutes=10)
) -> str:
    """A single-use sign-in token for the web hub (the bot's /web)."""
    await get_user(session, user_id=user_id)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginLink(token_hash=_sha256(token), user_id=user_id, created_at=now, expires_at=now + ttl)
    )
    await session.flush()
    return token


async def redeem_login_link(session: AsyncSession, *, token: str) -> User:
    stmt = select(LoginLink).where(LoginLink.token_hash == _sha256(token)).with_for_update()
    link = (await session.execute(stmt)).scalar_one_or_none()
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        raise Forbidden(lazy("This sign-in link is invalid, used or expired"))
    link.used_at = utcnow()
    user = await get_user(session, user_id=link.user_id)
    if not user.is_active:
        raise Forbidden(lazy("This account is disabled"))
    user.last_login_at = utcnow()
    return user


# ------------------------------------------------------------------------ API tokens


async def active_user_id(session: AsyncSession, *, email: str) -> int:
    """The id of the active user of ``email`` (a token's owner), or Invalid naming
    ``user``."""
    user = await get_by_email(session, email=email)
    if user is None or not user.is_active:
        raise Invalid(lazy("No such active user"), fields={"user": lazy("No such active user")})
    return user.id


def _scope_list(scopes: list[str]) -> list[str]:
    """Scopes given as repeated values or space/comma separated text."""
    return sorted({part for s in scopes for part in s.replace(",", " ").split() if part})


async def create_token(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[str],
    user_id: int | None = None,
    expires_at: datetime | None = None,
    actor_id: int | None = None,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plaintext, which is never stored.

    With ``user_id`` the token acts as that user: it may hold only scopes the user's role
    allows. Without, it is an integration acting with its scopes alone."""
    errors: dict[str, str] = {}
    name = name.strip()
    if not name or len(name) > 100:
        errors["name"] = lazy("Name must be 1 to 100 characters")
    wanted = _scope_list(scopes)
    if not wanted or any(s not in SCOPES for s in wanted):
        errors["scope"] = lazy("Unknown scope")
    if expires_at is not None and expires_at <= utcnow():
        errors["expires_at"] = lazy("The expiry must be in the future")
    owner = None
    if user_id is not None:
        owner = await session.get(User, user_id)
        if owner is None or not owner.is_active:
            errors["user"] = lazy("No such active user")
        elif "scope" not in errors and not set(wanted) <= role_scopes(owner.role):
            errors["scope"] = lazy("The user's role does not allow these scopes")
    if errors:
        raise Invalid(lazy("Invalid token"), fields=errors)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=_sha256(plaintext),
        prefix=plaintext[:10],
        scopes=" ".join(wanted),
        user_id=user_id,
        created_by=actor_id,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    await audit(
        session,
        actor_id=actor_id,
        entity="token",
        entity_id=token.id,
        action="create",
        details={"name": name, "scopes": token.scopes, "user": user_id},
        ip=ip,
    )
    return token, plaintext


def _token_live(token: ApiToken, now: datetime) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


async def verify_token(session: AsyncSession, *, plaintext: str) -> ApiToken | None:
    """The live token of this plaintext (not revoked, not expired, its user active)."""
    found = await _token_and_user(session, plaintext)
    return found[0] if found else None


async def _token_and_user(
    session: AsyncSession, plaintext: str
) -> tuple[ApiToken, User | None] | None:
    stmt = (
        select(ApiToken, User)
        .outerjoin(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _sha256(plaintext), ApiToken.revoked_at.is_(None))
    )
    row = (await session.execute(stmt)).first()
    now = utcnow()
    if row is None:
        return None
    token, user = row
    if not _token_live(token, now):
        return None
    if token.user_id is not None and (user is None or not user.is_active):
        return None  # a deactivated user's tokens stop with their sessions
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token, user


async def caller_for_token(session: AsyncSession, *, plaintext: str) -> Caller | None:
    """The API caller of a bearer token, or None for an unknown, revoked or expired one
    (or one whose user is deactivated)."""
    found = await _token_and_user(session, plaintext)
    if found is None:
        return None
    return Caller.for_token(*found)


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.execute(select(ApiToken).order_by(ApiToken.id))).scalars())


async def revoke_token(
    session: AsyncSession, *, token_id: int, actor_id: int | None = None, ip: str | None = None
) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(lazy("No such token"))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await audit(
            session,
            actor_id=actor_id,
            entity="token",
            entity_id=token.id,
            action="revoke",
            details={"name": token.name},
            ip=ip,
        )
    return token


INTEGRATION_DOMAIN = "integration.invalid"  # RFC 2606: never a real mailbox


async def integration_reporter(
    session: AsyncSession, *, token: ApiToken, email: str | None
) -> User:
    """Who an integration's bug is reported by: the active user of ``reporter_email``, or
    the integration's own account (made on first use; it cannot sign in)."""
    if email:
        user = await get_by_email(session, email=email)
        if user is None or not user.is_active:
            raise Invalid(
                lazy("No such active user"),
                fields={"reporter_email": lazy("No active user has this email")},
            )
        return user
    address = f"token-{token.id}@{INTEGRATION_DOMAIN}"
    user = await get_by_email(session, email=address)
    if user is None:
        user = await create_user(session, name=f"{token.name} (API)"[:200], email=address)
    return user


# ----------------------------------------------------------------------------- audit


async def audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    row = AuditLog(
        actor_id=actor_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
        ip=(ip or None) and ip[:45],
    )
    session.add(row)
    await session.flush()
    return row


async def history(session: AsyncSession, *, entity: str, entity_id: int) -> list[AuditLog]:
    stmt = (
        select(AuditLog)
        .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
        .order_by(AuditLog.created_at, AuditLog.id)
    )
    return list((await session.execute(stmt)).scalars())
