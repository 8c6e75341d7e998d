"""Bug reports and the FAQ knowledge base."""

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
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow

PRIORITIES = ("critical", "high", "medium", "low")
STATUSES = ("open", "in_progress", "resolved", "closed")


class BugLog(Base):
    __tablename__ = "bug_logs"
    __table_args__ = (
        CheckConstraint("priority IN ('critical','high','medium','low')", name="priority"),
        CheckConstraint("status IN ('open','in_progress','resolved','closed')", name="status"),
        CheckConstraint("source IN ('web','telegram','api')", name="source"),
        Index("ix_bug_logs_user_created", "user_id", "created_at"),
        Index("ix_bug_logs_status_priority", "status", "priority"),
        Index("ix_bug_logs_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    what_doing: Mapped[str] = mapped_column(Text)
    expected: Mapped[str] = mapped_column(Text)
    actual: Mapped[str] = mapped_column(Text)
    screenshot_url: Mapped[str | None] = mapped_column(String(500))
    screenshot_key: Mapped[str | None] = mapped_column(String(100))  # stored file name
    priority: Mapped[str] = mapped_column(String(10), default="medium", server_default="medium")
    status: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    source: Mapped[str] = mapped_column(String(10), default="web", server_default="web")
    github_issue_number: Mapped[int | None] = mapped_column(Integer, index=True)
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)  # idempotency
    # What other users may read about this bug (set at triage); never the reporter's text.
    public_summary: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How central the modules the pull requests closing its GitHub issue touch are
    # (changelog.impact); None until such a pull request is known.
    impact_score: Mapped[float | None] = mapped_column(Float)
    # The production deployment that shipped its fix, once the reporter was told. No
    # foreign key: adding one makes SQLite rebuild bug_logs, and dropping the old table
    # would cascade into every table that refers to it.
    fix_deployment_id: Mapped[int | None] = mapped_column(Integer)
    fix_live_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FaqEntry(Base):
    __tablename__ = "faq_entries"
    __table_args__ = (
        CheckConstraint("language IN ('ru','en')", name="language"),
        Index("ix_faq_entries_lang_cat_order", "language", "category", "order_index"),
        Index("ix_faq_entries_lang_views", "language", "views_count"),  # top questions
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="ru", server_default="ru")
    order_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    views_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    helpful_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_helpful_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class FaqTranslation(Base):
    """Two FAQ entries that say the same in Russian and English.

    Search shows one of them, in the reader's language when it exists. An entry is in
    at most one pair (both columns unique); deleting either entry deletes the pair.
    """

    __tablename__ = "faq_translations"
    __table_args__ = (CheckConstraint("original_id <> translation_id", name="distinct"),)

    original_id: Mapped[int] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="CASCADE"), primary_key=True
    )
    translation_id: Mapped[int] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaqVote(Base):
    """One vote per user per entry; a second vote replaces the first."""

    __tablename__ = "faq_votes"
    __table_args__ = (UniqueConstraint("faq_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    faq_id: Mapped[int] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BugDuplicate(Base):
    """A bug merged into the one it repeats: its reporter follows the original."""

    __tablename__ = "bug_duplicates"

    bug_id: Mapped[int] = mapped_column(
        ForeignKey("bug_logs.id", ondelete="CASCADE"), primary_key=True
    )
    original_id: Mapped[int] = mapped_column(
        ForeignKey("bug_logs.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float | None] = mapped_column(Float)
    merged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BugFollower(Base):
    """Someone told about a bug's status besides its reporter (a merged duplicate's)."""

    __tablename__ = "bug_followers"

    bug_id: Mapped[int] = mapped_column(
        ForeignKey("bug_logs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BugComment(Base):
    """One message of a bug's conversation: the reporter's, the team's (maybe an internal
    note, which the reporter never sees) or a GitHub issue comment mirrored here.

    ``github_comment_id`` is the issue comment that is this one on GitHub: the mirrored
    comment's own id, or the id our worker got back when it posted this one there (set
    once: the comment is never posted twice)."""

    __tablename__ = "bug_comments"
    __table_args__ = (
        CheckConstraint("source IN ('web','telegram','api','github')", name="source"),
        CheckConstraint("NOT (internal AND NOT from_team)", name="internal_is_team"),
        Index("ix_bug_comments_bug_created", "bug_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bug_id: Mapped[int] = mapped_column(ForeignKey("bug_logs.id", ondelete="CASCADE"))
    # None: a GitHub user (``github_login``) or an account deleted since.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    from_team: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))
    github_login: Mapped[str | None] = mapped_column(String(100))
    github_comment_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    attachment_key: Mapped[str | None] = mapped_column(String(100))  # a stored image
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)  # a resend
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
