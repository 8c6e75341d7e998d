"""GitHub's tables: the local copy of the repository's issues (the mirror) and pull
requests, the sync state, and the write-ahead record of issue creation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
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

BODY_KEPT = 16_384  # characters of an issue's body the mirror keeps


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
    # The start of the body (BODY_KEPT characters): where stack traces are found.
    body: Mapped[str | None] = mapped_column(Text)
    # The task weight from its links (changelog.weights): the highest impact of the open
    # or merged pull requests that close it and of the stack traces its body quotes.
    impact_score: Mapped[float | None] = mapped_column(Float)
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
    # The newest ``updated_at`` of a pull request the sync has seen: the next sync pages
    # back only to here.
    pulls_seen_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
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


class PullRequest(Base):
    """A pull request of the repository, as the webhooks and the sync last saw it.

    ``state`` is ``open``, ``closed`` (without merging) or ``merged``. The times are
    GitHub's: ``opened_at`` (created), ``first_commit_at`` (the oldest commit's author
    date, from the commit list), ``first_review_at`` / ``approved_at`` (the first
    review / approval by someone else than the author), ``merged_at``, ``closed_at``.
    ``closes`` holds the issue numbers the body closes ("Fixes #12"). ``details_sha`` is
    the head commit whose commits, reviews and files were fetched last.
    """

    __tablename__ = "pull_requests"
    __table_args__ = (
        UniqueConstraint("repo", "number"),
        Index("ix_pull_requests_repo_merged", "repo", "merged_at"),
        Index("ix_pull_requests_merge_commit", "merge_commit_sha"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    author_login: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10))  # open | closed | merged
    draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    base_ref: Mapped[str | None] = mapped_column(String(255))
    head_ref: Mapped[str | None] = mapped_column(String(255))
    head_sha: Mapped[str | None] = mapped_column(String(40))
    merge_commit_sha: Mapped[str | None] = mapped_column(String(40))
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    changed_files: Mapped[int | None] = mapped_column(Integer)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    closes: Mapped[list[int]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(500))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_commit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_review_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # GitHub's
    details_sha: Mapped[str | None] = mapped_column(String(40))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PullRequestFile(Base):
    """One file a pull request changes (``GET /repos/{o}/{r}/pulls/{n}/files``)."""

    __tablename__ = "pull_request_files"
    __table_args__ = (Index("ix_pull_request_files_path", "path"),)

    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    status: Mapped[str | None] = mapped_column(String(20))  # added | modified | removed | …
    additions: Mapped[int] = mapped_column(Integer, default=0)
    deletions: Mapped[int] = mapped_column(Integer, default=0)
