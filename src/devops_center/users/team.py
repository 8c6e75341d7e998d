"""The team: joining it (invites, Telegram), adding members, and what an admin sees.

The web's users page, the JSON API, the CLI (``dcc users``) and the bot call these same
functions; every change is written to the audit log with who made it and from where.
Roles and deactivation are :func:`devops_center.users.service.set_role` and
:func:`~devops_center.users.service.set_active` (they end the user's sessions at once
and keep the last owner).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import LANGUAGES, ROLES
from devops_center.db import utcnow
from devops_center.errors import Forbidden, Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.users import auditlog, credentials
from devops_center.users import service as users
from devops_center.users.models import Invite, User

log = logging.getLogger("devops_center.users")

INVITE_TTL = timedelta(days=7)
INVITE_PAYLOAD = "inv_"  # the bot's /start payload of a Telegram invite: inv_<token>
CHANNELS = ("email", "telegram")
ROLE_NAMES = {
    "employee": lazy("Employee"),
    "manager": lazy("Manager"),
    "owner": lazy("Owner"),
    "superadmin": lazy("Superadmin"),
}


def _language(code: str | None) -> str | None:
    lang = (code or "").replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else None


async def register_telegram_user(
    session: AsyncSession,
    *,
    telegram_id: int,
    name: str,
    username: str | None,
    language_code: str | None,
    superadmin: bool = False,
    role: str | None = None,
) -> User:
    """A new account for a Telegram user who came to the bot or the Mini App: an
    employee (a superadmin for a configured id; ``role`` for an invite)."""
    user = await users.create_user(
        session,
        name=name[:200] or f"tg{telegram_id}",
        role="superadmin" if superadmin else (role or "employee"),
        telegram_id=telegram_id,
        telegram_username=username,
        language=_language(language_code),
    )
    log.info("registered Telegram user %s as user %s (%s)", telegram_id, user.id, user.role)
    return user


async def add_member(
    session: AsyncSession,
    *,
    name: str,
    email: str | None = None,
    role: str = "employee",
    password: str | None = None,
    language: str | None = None,
    telegram_id: int | None = None,
    actor_id: int | None,
    ip: str | None = None,
    via: str,
) -> User:
    """Create an account on an admin's behalf (web, API or CLI), audited."""
    user = await users.create_user(
        session,
        name=name,
        email=email,
        role=role,
        password=password,
        language=language,
        telegram_id=telegram_id,
    )
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="user",
        entity_id=user.id,
        action="create",
        details={"email": user.email, "role": user.role, "via": via},
        ip=ip,
    )
    return user


# --------------------------------------------------------------------------- invites


async def create_invite(
    session: AsyncSession,
    *,
    channel: str,
    role: str = "employee",
    email: str | None = None,
    name: str | None = None,
    actor_id: int | None,
    ip: str | None = None,
    ttl: timedelta = INVITE_TTL,
) -> tuple[Invite, str]:
    """A one-time invitation; returns the row and the token (never stored: its hash is).

    ``email``: the link is for a new account with this address (the inviter sends it);
    ``telegram``: a deep link that the invitee opens in the bot."""
    errors: dict[str, str] = {}
    if channel not in CHANNELS:
        errors["channel"] = lazy("Choose email or Telegram")
    if role not in ROLES:
        errors["role"] = lazy("Unknown role")
    name = (name or "").strip() or None
    if name is not None and len(name) > 200:
        errors["name"] = lazy("Name must be 1 to 200 characters")
    if channel == "email":
        email = users.normalize_email(email or "")
        if not users.EMAIL_RE.match(email) or len(email) > 254:
            errors["email"] = lazy("Not a valid email address")
        elif await users.get_by_email(session, email=email) is not None:
            errors["email"] = lazy("A user with this email already exists")
    else:
        email = None
    if errors:
        raise Invalid(lazy("The invitation was not made"), fields=errors)
    token = secrets.token_urlsafe(24)
    now = utcnow()
    invite = Invite(
        token_hash=credentials.digest(token),
        channel=channel,
        role=role,
        email=email,
        name=name,
        created_by=actor_id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invite)
    await session.flush()
    await auditlog.audit(
        session,
        actor_id=actor_id,
        entity="invite",
        entity_id=invite.id,
        action="create",
        details={"channel": channel, "role": role, "email": email},
        ip=ip,
    )
    return invite, token


def _live(invite: Invite | None) -> Invite:
    if (
        invite is None
        or invite.used_at is not None
        or invite.revoked_at is not None
        or invite.expires_at < utcnow()
    ):
        raise Forbidden(lazy("This invitation is invalid, used or expired"))
    return invite


async def open_invite(session: AsyncSession, *, token: str, channel: str) -> Invite:
    """The live invite of ``token`` for ``channel`` (locked until the transaction ends),
    else Forbidden."""
    stmt = (
        select(Invite).where(Invite.token_hash == credentials.digest(token[:100])).with_for_update()
    )
    invite = (await session.execute(stmt)).scalar_one_or_none()
    invite = _live(invite)
    if invite.channel != channel:
        raise Forbidden(lazy("This invitation is invalid, used or expired"))
    return invite


async def _used(session: AsyncSession, invite: Invite, user: User, ip: str | None) -> None:
    invite.used_at = utcnow()
    invite.used_by = user.id
    user.last_login_at = utcnow()
    await auditlog.audit(
        session,
        actor_id=user.id,
        entity="invite",
        entity_id=invite.id,
        action="accept",
        details={"user": user.id, "role": user.role, "invited_by": invite.created_by},
        ip=ip,
    )


async def accept_email_invite(
    session: AsyncSession,
    *,
    token: str,
    name: str,
    password: str,
    again: str,
    language: str | None = None,
    ip: str | None = None,
) -> User:
    """The invitee's account, made from the invite's address and role with the name and
    password they chose; the invite is used up."""
    invite = await open_invite(session, token=token, channel="email")
    if password != again:
        raise Invalid(
            lazy("The account was not created"), fields={"again": lazy("The two passwords differ")}
        )
    user = await users.create_user(
        session,
        name=name,
        email=invite.email,
        role=invite.role,
        password=password,
        language=language,
    )
    await _used(session, invite, user, ip)
    return user


async def accept_telegram_invite(
    session: AsyncSession,
    *,
    token: str,
    telegram_id: int,
    name: str,
    username: str | None,
    language_code: str | None,
) -> User:
    """The bot's ``/start inv_<token>``: the Telegram user joins with the invite's role
    (an account they already have gets it, unless theirs is higher)."""
    invite = await open_invite(session, token=token, channel="telegram")
    user = await users.get_by_telegram_id(session, telegram_id=telegram_id)
    if user is None:
        user = await register_telegram_user(
            session,
            telegram_id=telegram_id,
            name=invite.name or name,
            username=username,
            language_code=language_code,
            role=invite.role,
        )
    else:
        if not user.is_active:
            raise Forbidden(lazy("This account is disabled"))
        if ROLES.index(invite.role) > ROLES.index(user.role):
            await users.set_role(
                session, user_id=user.id, role=invite.role, actor_id=invite.created_by
            )
    await _used(session, invite, user, None)
    return user


async def pending_invites(session: AsyncSession) -> list[Invite]:
    now = utcnow()
    stmt = (
        select(Invite)
        .where(Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > now)
        .order_by(Invite.id.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def revoke_invite(
    session: AsyncSession, *, invite_id: int, actor_id: int | None, ip: str | None = None
) -> Invite:
    invite = await session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(lazy("No such invitation"))
    if invite.used_at is None and invite.revoked_at is None:
        invite.revoked_at = utcnow()
        await auditlog.audit(
            session,
            actor_id=actor_id,
            entity="invite",
            entity_id=invite.id,
            action="revoke",
            ip=ip,
        )
    return invite
