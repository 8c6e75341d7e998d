"""Accounts, API tokens, sign-in links, web sessions and login throttling."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('employee','manager','owner','superadmin')", name="role"),
        CheckConstraint("language IS NULL OR language IN ('ru','en')", name="language"),
        CheckConstraint("email IS NOT NULL OR telegram_id IS NOT NULL", name="identity"),
        CheckConstraint("notify_via IN ('telegram','none')", name="notify_via"),
        # an index, not a constraint: SQLite adds it without rebuilding the table
        Index("ix_users_github_login", "github_login", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="employee", server_default="employee")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    # lower case; links the pull requests they merge to them (changelog created_by)
    github_login: Mapped[str | None] = mapped_column(String(100))
    telegram_blocked: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), nullable=False
    )
    language: Mapped[str | None] = mapped_column(String(5))
    digest_opt_in: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), nullable=False
    )
    is_active: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), nullable=False
    )
    # How the person hears about their bugs (status, replies): "telegram" or "none".
    notify_via: Mapped[str] = mapped_column(
        String(10), default="telegram", server_default="telegram", nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "superadmin")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role} {self.email or self.telegram_id}>"


class ApiToken(Base):
    """A bearer token for /api/v1. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(500))  # space-separated
    # The account the token acts as (its rights are the token's scopes within the
    # account's role); None: an integration, acting with its scopes alone.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class LoginLink(Base):
    """A single-use sign-in link (the bot's /web), valid for a few minutes."""

    __tablename__ = "login_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Sign-in attempts of one key ("acct-ip:<account>|<ip>" or "ip:<ip>"), one row per key.

    An attempt is reserved with one upsert that increments ``attempts`` and returns the
    row only when the key is not blocked (:mod:`devops_center.users.throttle`), so that
    parallel attempts can never overtake the limit. Times are epoch seconds: the back-off
    (``now + delay``) is then plain arithmetic inside that one statement on SQLite and
    PostgreSQL alike.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[float] = mapped_column(Float)
    blocked_until: Mapped[float] = mapped_column(Float)


class UserSession(Base):
    """A signed-in browser. Its cookie holds a random id; only the id's SHA-256 is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the absolute end
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AuditLog(Base):
    """Who changed what and when (bug triage, FAQ edits, token and user changes)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(50))
    details: Mapped[str | None] = mapped_column(Text)  # JSON text of the changes
    ip: Mapped[str | None] = mapped_column(String(45))  # where the change came from
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invite(Base):
    """A one-time invitation to join the team with a role: a web link (sent by email by
    whoever made it) or a Telegram deep link. Only the token's SHA-256 is stored."""

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint("role IN ('employee','manager','owner','superadmin')", name="role"),
        CheckConstraint("channel IN ('email','telegram')", name="channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramInitDataUse(Base):
    """A Telegram Mini App ``initData`` already used to sign in (its hash), kept until it
    would be too old anyway: the same initData never signs in twice."""

    __tablename__ = "telegram_initdata_uses"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
