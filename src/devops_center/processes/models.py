"""One row per running web, worker or bot process, refreshed by its heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime

PROCESS_KINDS = ("web", "worker", "bot", "embedded")


class ProcessHeartbeat(Base):
    """A process that uses the database; the row goes when the process stops cleanly."""

    __tablename__ = "process_heartbeats"
    __table_args__ = (
        UniqueConstraint("kind", "host", "pid"),
        CheckConstraint("kind IN ('web','worker','bot','embedded')", name="kind"),
        Index("ix_process_heartbeats_last_seen_at", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
