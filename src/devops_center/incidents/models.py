"""Incidents: opened by a failed deployment, a check going down or a critical bug."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow

INCIDENT_SOURCES = ("deployment", "check", "bug", "manual")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("source IN ('deployment','check','bug','manual')", name="source"),
        Index("ix_incidents_resolved_at", "resolved_at"),
        # the DORA report: open ones counted, resolved ones read, from the index alone
        Index("ix_incidents_env_resolved", "environment", "resolved_at", "opened_at", "service"),
        Index(
            "ix_incidents_open",
            "environment",
            "service",
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
        Index("ix_incidents_opened_at", "opened_at"),
        Index("ix_incidents_source_ref", "source", "source_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(200))  # check name, bug id, …
    service: Mapped[str | None] = mapped_column(String(100))
    environment: Mapped[str] = mapped_column(
        String(50), default="production", server_default="production"
    )
    severity: Mapped[str] = mapped_column(String(10), default="high", server_default="high")
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL")
    )
    resolved_by_deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL")
    )
    bug_id: Mapped[int | None] = mapped_column(ForeignKey("bug_logs.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
