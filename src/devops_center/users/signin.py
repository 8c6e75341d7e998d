"""Signing in: with a password, or with a one-time link the bot hands out (/web)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import Forbidden
from devops_center.i18n import lazy
from devops_center.users import credentials
from devops_center.users import service as accounts
from devops_center.users.models import LoginLink, User


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The user for these credentials, or None. Same work whether or not the user exists."""
    user = await accounts.get_by_email(session, email=email) if email else None
    stored = user.password_hash if user is not None and user.password_hash else None
    dummy = await asyncio.to_thread(credentials._dummy_hash) if stored is None else ""
    ok = await asyncio.to_thread(credentials.verify_password, stored or dummy, password)
    ok = ok and stored is not None
    if not ok or user is None or not user.is_active:
        return None
    if credentials.needs_rehash(stored or ""):
        user.password_hash = await asyncio.to_thread(credentials.hash_password, password)
    user.last_login_at = utcnow()
    return user


async def create_login_link(
    session: AsyncSession, *, user_id: int, ttl: timedelta = timedelta(minutes=10)
) -> str:
    """A single-use sign-in token for the web hub (the bot's /web)."""
    await accounts.get_user(session, user_id=user_id)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginLink(
            token_hash=credentials.digest(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def redeem_login_link(session: AsyncSession, *, token: str) -> User:
    stmt = (
        select(LoginLink).where(LoginLink.token_hash == credentials.digest(token)).with_for_update()
    )
    link = (await session.execute(stmt)).scalar_one_or_none()
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        raise Forbidden(lazy("This sign-in link is invalid, used or expired"))
    link.used_at = utcnow()
    user = await accounts.get_user(session, user_id=link.user_id)
    if not user.is_active:
        raise Forbidden(lazy("This account is disabled"))
    user.last_login_at = utcnow()
    return user
