"""What the public API keeps between requests: idempotency records and rate windows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    """One ``Idempotency-Key`` of one client: claimed (``pending``) while the first request
    runs, then ``done`` with the response a retry gets back. Kept a day."""

    __tablename__ = "api_idempotency"
    __table_args__ = (
        UniqueConstraint("client", "key"),
        Index("ix_api_idempotency_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64))  # SHA-256 of the credentials
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done
    status_code: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)  # JSON [[name, value], ...]
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RateWindow(Base):
    """Requests of one client in the current fixed window (one row per client)."""

    __tablename__ = "api_rate_windows"

    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)
