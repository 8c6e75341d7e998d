"""Deployments, the commits they shipped, and the changelog journal."""

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow

DEPLOY_STATUSES = ("in_progress", "success", "failed", "rolled_back")
DEPLOY_KINDS = ("normal", "rollback", "hotfix")


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('in_progress','success','failed','rolled_back')", name="status"
        ),
        CheckConstraint("kind IN ('normal','rollback','hotfix')", name="kind"),
        # status and kind make the DORA roll-up (dora.service) an index-only scan
        Index("ix_deployments_env_started", "environment", "started_at", "status", "kind"),
        Index(
            "ix_deployments_service_env_started",
            "service",
            "environment",
            "started_at",
            "status",
            "kind",
        ),
        Index("ix_deployments_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commit_sha: Mapped[str] = mapped_column(String(40))
    commit_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    triggered_by: Mapped[str | None] = mapped_column(String(100))
    tests_passed: Mapped[int | None] = mapped_column(Integer)
    tests_failed: Mapped[int | None] = mapped_column(Integer)
    environment: Mapped[str] = mapped_column(
        String(50), default="production", server_default="production"
    )
    service: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="api", server_default="api")
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DeploymentCommit(Base):
    """A commit shipped by a deployment, with its time (for change lead time)."""

    __tablename__ = "deployment_commits"
    __table_args__ = (
        UniqueConstraint("deployment_id", "sha"),
        Index("ix_deployment_commits_sha", "sha"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    sha: Mapped[str] = mapped_column(String(40))
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))


class ChangelogEntry(Base):
    """The changelog journal, filled from merged pull requests."""

    __tablename__ = "changelog_entries"
    __table_args__ = (Index("ix_changelog_entries_date", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    component: Mapped[str | None] = mapped_column(String(100))
    change_type: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str | None] = mapped_column(String(20))
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    github_issue: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    impact_score: Mapped[int | None] = mapped_column(Integer)
    indexed_in_brain: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
