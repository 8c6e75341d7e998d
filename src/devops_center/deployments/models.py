"""Deployments, the commits they shipped, and the changelog journal."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
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

DEPLOY_STATUSES = ("in_progress", "success", "failed", "rolled_back")
FAILURE_REASON_MAX = 500


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
    # Why a failed or rolled-back deployment failed, as the pipeline said (≤ 500 chars).
    failure_reason: Mapped[str | None] = mapped_column(String(FAILURE_REASON_MAX))
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
    """The changelog journal, filled from merged pull requests (``changelog``).

    One row per merged pull request (``pull_request_id`` unique): ``commit_sha`` is its
    merge commit, ``status`` ``merged`` until a successful production deployment ships
    it (``deployed``, with that deployment). ``impact_score`` in [0, 1] is how central
    the changed modules are in the latest architecture scan, weighted by how much of each
    changed (docs/architecture.md). ``user_line_ru`` / ``user_line_en``: what an owner
    wrote for users ("What's new" on /support).
    """

    __tablename__ = "changelog_entries"
    __table_args__ = (
        Index("ix_changelog_entries_date", "date"),
        Index("ix_changelog_entries_commit_sha", "commit_sha"),
        Index("ix_changelog_entries_github_issue", "github_issue"),
        Index("ix_changelog_entries_component", "component"),
    )

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
    impact_score: Mapped[float | None] = mapped_column(Float)
    indexed_in_brain: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    pull_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="SET NULL"), unique=True
    )
    pull_number: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(500))  # the pull request on GitHub
    author_login: Mapped[str | None] = mapped_column(String(100))
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), index=True
    )
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_line_ru: Mapped[str | None] = mapped_column(String(300))
    user_line_en: Mapped[str | None] = mapped_column(String(300))


class CommitFirstDeploy(Base):
    """A commit's first successful deployment to a service and environment, with its lead
    time: what the change lead time of a window is made of.

    Kept by :mod:`devops_center.deployments.rollups` in the transaction that changes a
    deployment or its commits, so the report never searches the whole history for the
    first deployment of each commit. ``started_at`` is that deployment's (a lead time
    belongs to the window in which its deployment started); ``lead_us`` (completed −
    committed, in microseconds, exact on every database) is None while the deployment
    has no completion time.
    """

    __tablename__ = "commit_first_deploys"
    __table_args__ = (
        # The report reads a window of one environment, or of one service in it; the
        # lead time in the index makes both index-only scans.
        Index("ix_commit_first_deploys_env_started", "environment", "started_at", "lead_us"),
        Index(
            "ix_commit_first_deploys_service_env_started",
            "service",
            "environment",
            "started_at",
            "lead_us",
        ),
        Index("ix_commit_first_deploys_deployment_id", "deployment_id"),
    )

    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    environment: Mapped[str] = mapped_column(String(50), primary_key=True)
    sha: Mapped[str] = mapped_column(String(40), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lead_us: Mapped[int | None] = mapped_column(BigInteger)


class DeploymentDay(Base):
    """The deployments of one service and environment on one local day (``DCC_TIMEZONE``
    of :class:`RollupState`), kept exact by :mod:`devops_center.deployments.rollups`.

    ``leads`` and ``durations`` are comma-separated integers (the lead times in
    microseconds of the commits first deployed that day, the durations in seconds of
    that day's successful deployments): exact medians over any set of days need the
    values themselves, and a day holds a handful of them.
    """

    __tablename__ = "deployment_days"
    __table_args__ = (Index("ix_deployment_days_env_day", "environment", "day"),)

    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    environment: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[int] = mapped_column(Integer)  # in progress included
    running: Mapped[int] = mapped_column(Integer)
    success: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    rolled_back: Mapped[int] = mapped_column(Integer)
    rework: Mapped[int] = mapped_column(Integer)  # finished rollback and hotfix deployments
    leads: Mapped[str | None] = mapped_column(Text)
    durations: Mapped[str | None] = mapped_column(Text)
    # A new random number at every write of the row (the database's default for the
    # rebuild's inserts): the report keeps parsed past days while it stays the same.
    revision: Mapped[int | None] = mapped_column(BigInteger)


class RollupState(Base):
    """The one row saying in which time zone the days of :class:`DeploymentDay` are."""

    __tablename__ = "deployment_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    rebuilt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
