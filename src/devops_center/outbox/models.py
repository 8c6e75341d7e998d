"""Durable work: the job table (outbox) and received webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow

# parked: a job this code cannot run (unknown kind, payload that does not validate),
# kept with the reason until an admin retries it after an upgrade, or deletes it.
JOB_STATUSES = ("pending", "running", "done", "failed", "parked")


class Job(Base):
    """One unit of background work. Written in the same transaction as its cause."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('pending','running','done','failed','parked')", name="status"),
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index("ix_jobs_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    unique_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """A received webhook, de-duplicated by (source, delivery id)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("source", "delivery_id"),
        UniqueConstraint("source", "content_hash"),
        Index("ix_webhook_deliveries_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # github | telegram
    delivery_id: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the event and its canonical JSON: the same content sent again under a new
    # delivery id (a replayed capture, a duplicate send) is recognised as a repeat.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(50))
    action: Mapped[str | None] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="received", server_default="received")
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
