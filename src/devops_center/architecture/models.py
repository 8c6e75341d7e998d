"""A scan of a code base: its modules, the imports between them, its packages.

One ``arch_scans`` row per name ("devops_center", "acme/app"); a new scan of the same
name replaces the rows of the old one in one transaction. Module paths are relative to
the scanned directory (the repository root for a GitHub scan), so a changed file of a
pull request (``src/pkg/mod.py``) finds its module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow


class ArchScan(Base):
    __tablename__ = "arch_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(10))  # path | github
    location: Mapped[str] = mapped_column(String(500))  # the directory, or owner/repo
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    module_count: Mapped[int] = mapped_column(Integer, default=0)
    edge_count: Mapped[int] = mapped_column(Integer, default=0)
    package_count: Mapped[int] = mapped_column(Integer, default=0)
    cycle_count: Mapped[int] = mapped_column(Integer, default=0)
    loc: Mapped[int] = mapped_column(Integer, default=0)
    # [{"path", "line", "message"}] of the files that were skipped
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"requests": 3, ...}: external top-level names → how many modules import them
    externals: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # [["a", "b", "c"], ...]: the import cycles (runtime imports), largest first
    cycles: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ArchModule(Base):
    __tablename__ = "arch_modules"
    __table_args__ = (
        UniqueConstraint("scan_id", "name"),
        Index("ix_arch_modules_scan_path", "scan_id", "path"),
        Index("ix_arch_modules_scan_package", "scan_id", "package"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("arch_scans.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(500))
    package: Mapped[str] = mapped_column(String(300))  # "" for a top-level module
    is_package: Mapped[bool] = mapped_column(Boolean)
    loc: Mapped[int] = mapped_column(Integer)
    fan_in: Mapped[int] = mapped_column(Integer)
    fan_out: Mapped[int] = mapped_column(Integer)
    centrality: Mapped[float] = mapped_column(Float)
    in_cycle: Mapped[bool] = mapped_column(Boolean)


class ArchEdge(Base):
    """``source`` imports ``target`` (one row per pair, the first line it happens)."""

    __tablename__ = "arch_edges"
    __table_args__ = (
        UniqueConstraint("source_id", "target_id"),
        Index("ix_arch_edges_scan", "scan_id"),
        Index("ix_arch_edges_target", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("arch_scans.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("arch_modules.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("arch_modules.id", ondelete="CASCADE"))
    type_checking: Mapped[bool] = mapped_column(Boolean)  # only under ``if TYPE_CHECKING:``
    lazy: Mapped[bool] = mapped_column(Boolean)  # only inside functions
    line: Mapped[int] = mapped_column(Integer)


class ArchPackage(Base):
    """A package's figures: its modules (directly in it) rolled up."""

    __tablename__ = "arch_packages"
    __table_args__ = (UniqueConstraint("scan_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("arch_scans.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    parent: Mapped[str | None] = mapped_column(String(300))  # the enclosing package, if any
    modules: Mapped[int] = mapped_column(Integer)
    loc: Mapped[int] = mapped_column(Integer)
    fan_in: Mapped[int] = mapped_column(Integer)
    fan_out: Mapped[int] = mapped_column(Integer)
    centrality: Mapped[float] = mapped_column(Float)
    in_cycle: Mapped[bool] = mapped_column(Boolean)
