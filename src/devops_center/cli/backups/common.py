"""What both databases' backups share: the errors, the files (0600 in a 0700
directory), and the check of a backup's revision against our migration scripts."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy.engine import make_url

BACKUP_TIMEOUT = 3600  # seconds a pg tool may take
MANUAL_PREFIXES = ("faq_fts", "sqlite_")  # tables the migrations make that the models don't
HEARTBEAT_TABLE = "process_heartbeats"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that could not be done, with a one-line message for the operator."""


@dataclass(frozen=True)
class BackupInfo:
    """What a checked backup holds."""

    revision: str
    head: str
    tables: int
    checked: str = ""  # how its contents were checked, for the operator

    @property
    def older(self) -> bool:
        return self.revision != self.head


# ---------------------------------------------------------------------------- helpers


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%SZ")


def default_backup_path(database_url: str, var_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if make_url(database_url).get_backend_name() == "sqlite" else "pgdump"
    return var_dir / "backups" / f"dcc-{stamp}.{suffix}"


def private_dir(path: Path, *, ours: bool) -> None:
    """Create ``path`` 0700, and each missing directory above it; a directory of our own
    (``var/backups``) is made 0700 too."""
    if not path.exists():
        missing = [path, *(p for p in path.parents if not p.exists())]
        path.mkdir(mode=0o700, parents=True)
        for made in missing:
            made.chmod(0o700)  # mkdir's mode is filtered by the umask (parents: ignored)
    elif ours:
        path.chmod(0o700)


def create_private(path: Path) -> None:
    """Create an empty file readable by its owner only; refuse to overwrite one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise BackupError(f"{path} exists already; choose another file") from exc
    os.close(fd)
    path.chmod(0o600)


def create_kept(name: Callable[[str], Path]) -> Path:
    """A new private file for a ``before-restore`` copy; ``name(stamp)`` gives its path."""
    stamp = _stamp()
    for n in range(1, 100):
        path = name(stamp if n == 1 else f"{stamp}-{n}")
        with contextlib.suppress(BackupError):
            create_private(path)
            return path
    raise BackupError(f"cannot create {name(stamp)}: too many restores this second")


def one_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    line = (errors or lines or ["(no message)"])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def not_ours(shown: Path, why: str) -> BackupError:
    return BackupError(f"refused: {shown} {why}; not a backup made by `dcc backup`")


def truncated(shown: Path, detail: str) -> BackupError:
    return BackupError(
        f"refused: {shown} is truncated or damaged ({detail}); "
        "take the backup again or use another one"
    )


# -------------------------------------------------------------------------- revisions


@cache
def revisions() -> tuple[frozenset[str], str]:
    """Every revision of our migration scripts, and the head."""
    from alembic.script import ScriptDirectory

    from devops_center.migrations import runner

    scripts = ScriptDirectory.from_config(runner.alembic_config("sqlite://"))
    head = scripts.get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise BackupError("this dcc has no migration scripts")
    return frozenset(s.revision for s in scripts.walk_revisions()), head


@cache
def expected_tables(revision: str) -> frozenset[str]:
    """The tables a database at ``revision`` has (our models' at head; else migrated)."""
    _known, head = revisions()
    if revision == head:
        from devops_center.models import Base

        return frozenset(Base.metadata.tables) | {"alembic_version"}
    from devops_center.migrations import runner

    with tempfile.TemporaryDirectory(prefix="dcc-tables-") as scratch:
        path = Path(scratch) / "at-revision.sqlite3"
        runner.upgrade(f"sqlite+aiosqlite:///{path}", revision)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            names = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
    return frozenset(n for n in names if not n.startswith(MANUAL_PREFIXES))


def check_revision(shown: Path, versions: list[str], tables: set[str]) -> BackupInfo:
    if "alembic_version" not in tables:
        raise not_ours(shown, "is not a dcc database (it has no alembic_version table)")
    if len(versions) != 1:
        raise not_ours(shown, f"has {len(versions)} migration revisions instead of one")
    revision = versions[0]
    known, head = revisions()
    if revision not in known:
        raise BackupError(
            f"refused: {shown} is at revision {revision!r}, which this dcc (head {head}) "
            "does not know; restore it with the dcc version that made it"
        )
    missing = sorted(expected_tables(revision) - tables)
    if missing:
        listed = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
        raise not_ours(shown, f"lacks {len(missing)} tables of revision {revision} ({listed})")
    return BackupInfo(revision=revision, head=head, tables=len(tables))
