"""API tokens for /api/v1: made (only a digest is stored), checked on every request,
revoked; and the account an integration's bug is reported by."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.users import auditlog, credentials
from devops_center.users import service as accounts
from devops_center.users.access import SCOPES, Caller, role_scopes
from devops_center.users.models import ApiToken, User

TOKEN_PREFIX = "dcc_"  # noqa: S105 - a public prefix, not a secret


async def active_user_id(session: AsyncSession, *, email: str) -> int:
    """The id of the active user of ``email`` (a token's owner), or Invalid naming
    ``user``."""
    user = await accounts.get_by_email(session, email=email)
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
        token_hash=credentials.digest(plaintext),
        prefix=plaintext[:10],
        scopes=" ".join(wanted),
        user_id=user_id,
        created_by=actor_id,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    await auditlog.audit(
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
        .where(ApiToken.token_hash == credentials.digest(plaintext), ApiToken.revoked_at.is_(None))
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
        await auditlog.audit(
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
        user = await accounts.get_by_email(session, email=email)
        if user is None or not user.is_active:
            raise Invalid(
                lazy("No such active user"),
                fields={"reporter_email": lazy("No active user has this email")},
            )
        return user
    address = f"token-{token.id}@{INTEGRATION_DOMAIN}"
    user = await accounts.get_by_email(session, email=address)
    if user is None:
        user = await accounts.create_user(session, name=f"{token.name} (API)"[:200], email=address)
    return user
