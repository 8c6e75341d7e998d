"""GitHub's tables: the local copy of the repository's issues (the mirror), the sync
state, and the write-ahead record of issue creation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
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


class GithubIssue(Base):
    __tablename__ = "github_issues"
    __table_args__ = (
        UniqueConstraint("repo", "number"),
        Index("ix_github_issues_repo_state_created", "repo", "state", "gh_created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(10))  # open | closed
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_bug: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_critical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    assignee: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500))
    bug_id: Mapped[int | None] = mapped_column(Integer, index=True)  # from the dcc marker
    gh_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    gh_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    gh_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class GithubSyncState(Base):
    """Where the GitHub loop stands, per repository: the open-issue list's ETag, the last
    sync and its error, and the pause GitHub asked for (rate limits)."""

    __tablename__ = "github_sync_state"

    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    open_issues_etag: Mapped[str | None] = mapped_column(String(200))
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sync_not_modified: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class GithubIssueRequest(Base):
    """Write-ahead record that an issue was about to be created for a bug: committed just
    before the POST, so a run killed between GitHub's answer and our commit searches
    GitHub for the issue first instead of opening a second one."""

    __tablename__ = "github_issue_requests"

    bug_id: Mapped[int] = mapped_column(
        ForeignKey("bug_logs.id", ondelete="CASCADE"), primary_key=True
    )
    repo: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
