"""Server-side web sessions: the cookie holds a random id, the database keeps its hash.

A session ends when its user signs out, when it stays unused longer than the idle
timeout (``DCC_SESSION_IDLE_HOURS``), at its absolute end (``DCC_SESSION_LIFETIME_DAYS``
after sign-in), when the user ends it from the Sessions page, and for every session of
a user whose password, role or active flag changes. Rows of ended sessions are deleted
at once; expired ones by the periodic ``maintenance.purge`` job.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.errors import NotFound
from devops_center.i18n import lazy
from devops_center.users.models import User, UserSession


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=12)
    lifetime: timedelta = timedelta(days=14)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            idle=timedelta(hours=settings.session_idle_hours),
            lifetime=timedelta(days=settings.session_lifetime_days),
        )

    @property
    def touch_every(self) -> timedelta:
        """How stale ``last_seen_at`` may get before a request writes it again: a minute,
        or less for a very short idle timeout. Not a write per request."""
        return min(timedelta(minutes=1), self.idle / 10)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _alive(row: UserSession, policy: SessionPolicy, now: datetime) -> bool:
    return row.expires_at > now and row.last_seen_at > now - policy.idle


async def start(
    session: AsyncSession,
    *,
    user_id: int,
    policy: SessionPolicy,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> tuple[UserSession, str]:
    """A new session with a fresh random id; returns the row and the id for the cookie
    (never stored: the row has its SHA-256)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
        ip=(ip or None) and ip[:45],
        user_agent=(user_agent or None) and user_agent[:300],
    )
    session.add(row)
    await session.flush()
    return row, token


async def resolve(
    session: AsyncSession, *, token: str, policy: SessionPolicy, now: datetime | None = None
) -> tuple[UserSession, User] | None:
    """The live session of this cookie id and its active user, or None. Reads only."""
    now = now or utcnow()
    stmt = (
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash(token))
    )
    found = (await session.execute(stmt)).first()
    if found is None:
        return None
    row, user = found
    if not user.is_active or not _alive(row, policy, now):
        return None
    return row, user


def needs_touch(row: UserSession, policy: SessionPolicy, now: datetime | None = None) -> bool:
    return row.last_seen_at <= (now or utcnow()) - policy.touch_every


async def touch(
    session: AsyncSession,
    *,
    session_id: int,
    policy: SessionPolicy,
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record that the session was used now (throttled: see ``touch_every``)."""
    now = now or utcnow()
    values: dict[str, object] = {"last_seen_at": now}
    if ip:
        values["ip"] = ip[:45]
    await session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.last_seen_at <= now - policy.touch_every)
        .values(values)
    )


async def end(session: AsyncSession, *, token: str) -> None:
    """Sign-out: the session of this cookie id is deleted."""
    await session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))


async def end_one(session: AsyncSession, *, user_id: int, session_id: int) -> None:
    """End one of the user's own sessions (the Sessions page); NotFound for anyone else's."""
    result = await session.execute(
        delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user_id)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(lazy("No such session"))


async def end_all(session: AsyncSession, *, user_id: int, except_id: int | None = None) -> int:
    """End every session of the user (but ``except_id``); the number ended."""
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if except_id is not None:
        stmt = stmt.where(UserSession.id != except_id)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def list_live(
    session: AsyncSession, *, user_id: int, policy: SessionPolicy, now: datetime | None = None
) -> list[UserSession]:
    """The user's live sessions, most recently used first."""
    now = now or utcnow()
    stmt = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.expires_at > now,
            UserSession.last_seen_at > now - policy.idle,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def purge(
    session: AsyncSession, *, policy: SessionPolicy, now: datetime | None = None
) -> int:
    """Delete expired and idle sessions; the number deleted."""
    now = now or utcnow()
    result = await session.execute(
        delete(UserSession).where(
            or_(UserSession.expires_at <= now, UserSession.last_seen_at <= now - policy.idle)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


@lru_cache(maxsize=512)
def device(user_agent: str | None) -> str:
    """ "Firefox 131, Windows" from a User-Agent (ua-parser), or the raw text shortened.

    The first call compiles the parser's rules (about 0.2 s): call it off the event loop.
    """
    if not user_agent:
        return ""
    import ua_parser

    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent
    system = parsed.os
    dev = parsed.device
    parts = []
    if browser is not None and browser.family != "Other":
        parts.append(f"{browser.family} {browser.major}" if browser.major else browser.family)
    if system is not None and system.family != "Other":
        parts.append(system.family)
    generic = ("Other", "Spider", "Mac", system.family if system is not None else "")
    if dev is not None and dev.family not in generic:
        parts.append(dev.family)
    return ", ".join(parts) or user_agent[:60]
