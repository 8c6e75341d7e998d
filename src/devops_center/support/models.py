"""Bug reports and the FAQ knowledge base."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
