"""System checks: raw results and the current state of each check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow


class CheckResult(Base):
    __tablename__ = "check_results"
    __table_args__ = (
        CheckConstraint("ok IN (0, 1)", name="ok_bool"),
        Index("ix_check_results_name_checked", "check_name", "checked_at"),
        Index("ix_check_results_checked_at", "checked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_name: Mapped[str] = mapped_column(String(100))
    ok: Mapped[int] = mapped_column(Integer)  # 1 up, 0 down (integer so SQL can average it)
    state: Mapped[str] = mapped_column(String(12))
    response_ms: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CheckState(Base):
    __tablename__ = "check_states"
    __table_args__ = (
        CheckConstraint("state IN ('up','down','pending','maintenance','unknown')", name="state"),
    )

    check_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(12), default="unknown")
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_response_ms: Mapped[float | None] = mapped_column(Float)
    last_message: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    last_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    incident_id: Mapped[int | None] = mapped_column(Integer)


class CheckRollup(Base):
    """One check's results of one hour, kept after the raw results are deleted (7 days)."""

    __tablename__ = "check_rollups"
    __table_args__ = (Index("ix_check_rollups_hour", "hour"),)

    check_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)  # results outside maintenance
    ups: Mapped[int] = mapped_column(Integer)  # of those, successful
    maintenance: Mapped[int] = mapped_column(Integer)  # results inside a maintenance window
    # Seconds the hour's results held (each until the next result, at most its max gap),
    # outside maintenance, and of those the seconds up; NULL in roll-ups made before
    # uptime was weighted by time (status.uptime counts their results one interval each).
    observed_seconds: Mapped[float | None] = mapped_column(Float)
    up_seconds: Mapped[float | None] = mapped_column(Float)
    response_ms_avg: Mapped[float | None] = mapped_column(Float)
    response_ms_max: Mapped[float | None] = mapped_column(Float)


class MaintenanceWindowRow(Base):
    """A maintenance window an admin added on /admin/status (those of dcc.toml are not
    stored): alerts suppressed and uptime not counted for its checks."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_ends_at", "ends_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    checks: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every check
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RollupWatermark(Base):
    """Every check result before ``rolled_until`` is folded into ``check_rollups`` (one
    row): the retention job starts there, and raw rows before it may be deleted."""

    __tablename__ = "check_rollup_watermark"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    rolled_until: Mapped[datetime] = mapped_column(UTCDateTime())
