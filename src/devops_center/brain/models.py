"""What the brain keeps: one document per indexed source (its text and its vector)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, LargeBinary, String, Text, UniqueConstraint
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
