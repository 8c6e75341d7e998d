"""What the brain keeps: one document per indexed source (its text and its vector)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow

KINDS = ("faq", "bug", "changelog")


class BrainDocument(Base):
    """The text of one FAQ entry, bug or changelog entry as embedded, and its vector.

    ``vector`` is the model's float32 embedding as raw bytes (``numpy.tobytes``), None
    while no model is installed; ``model`` names the model that made it. A document
    is re-embedded when its text (``text_hash``) or the configured model changes.
    """

    __tablename__ = "brain_documents"
    __table_args__ = (
        CheckConstraint("kind IN ('faq','bug','changelog')", name="kind"),
        CheckConstraint("language IN ('ru','en')", name="language"),
        UniqueConstraint("kind", "source_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(5))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BrainState(Base):
    """One row: ``revision`` changes with every write to ``brain_documents``.

    Each process keeps the documents' matrix in memory and reloads it when the
    revision it loaded is no longer the current one. A random token rather than a
    counter, so that a table emptied and refilled never repeats a revision.
    """

    __tablename__ = "brain_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


CHANNELS = ("faq_page", "bot_faq", "bot_text", "api", "bug_form", "bot_bug")


class BrainQuestion(Base):
    """One question put to the brain and what came of it.

    ``channel``: the FAQ page, the bot's /faq or free text, the API, or the deflection
    shown while a bug is written (``bug_form``, ``bot_bug``: ``form_token`` is the bug
    form's idempotency token, so "did they still file?" is whether a bug carries it).
    ``confident`` and ``helpful`` (the user's "did this help?", None = no answer) make
    the gaps; ``vector`` (the query's embedding under ``model``) groups them.
    ``suggestions``: how many answers or known issues were shown.
    """

    __tablename__ = "brain_questions"
    __table_args__ = (
        CheckConstraint(
            "channel IN ('faq_page','bot_faq','bot_text','api','bug_form','bot_bug')",
            name="channel",
        ),
        Index("ix_brain_questions_created_at", "created_at"),
        Index("ix_brain_questions_form_token", "form_token"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(5))
    text: Mapped[str] = mapped_column(Text)
    confident: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_kind: Mapped[str | None] = mapped_column(String(16))
    answer_id: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    suggestions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    form_token: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
