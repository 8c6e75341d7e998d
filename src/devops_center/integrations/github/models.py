"""The local copy of the repository's GitHub issues (the mirror)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint, false
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
