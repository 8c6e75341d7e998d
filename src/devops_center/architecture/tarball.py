"""Unpack the Python files of a repository tarball, refusing anything that could escape.

Only regular ``*.py`` files are written (the scan reads nothing else), each under the
destination: a member with an absolute path, a ``..`` component or a drive is refused
(the whole archive is: it was made to attack); links, devices and FIFOs are never
created; the total unpacked size and the number of files are capped.
"""

from __future__ import annotations

import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_FILES = 20_000
MAX_FILE_BYTES = 2 * 1024 * 1024


class ArchiveError(Exception):
    """The archive is unreadable, tries to write outside its directory, or is too large."""


@dataclass(frozen=True)
class Unpacked:
    root: Path  # the directory to scan (GitHub's single top directory, if there is one)
    files: int
    bytes: int
    skipped: int  # links, special files, Python files over the per-file cap


def _safe_parts(name: str) -> tuple[str, ...]:
    if "\\" in name or "\x00" in name:
        raise ArchiveError(f"refused archive member {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part == ".." for part in path.parts):
        raise ArchiveError(f"refused archive member {name!r} (outside the archive)")
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if parts and ":" in parts[0]:
        raise ArchiveError(f"refused archive member {name!r} (a drive)")
    return parts


def extract_python(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int = MAX_UNPACKED_BYTES,
    max_files: int = MAX_FILES,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Unpacked:
    """Unpack the ``*.py`` files of a gzipped tarball into ``dest`` (created)."""
    dest.mkdir(parents=True, exist_ok=True)
    base = dest.resolve()
    files = total = skipped = 0
    tops: set[str] = set()
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:  # streamed: members are read one by one
                parts = _safe_parts(member.name)
                if not parts or member.name == "pax_global_header":
                    continue
                tops.add(parts[0])
                if member.isdir():
                    continue
                if not member.isfile():
                    skipped += 1  # symlink, hard link, device, FIFO: never created
                    continue
                if not parts[-1].endswith(".py"):
                    continue
                if member.size > max_file_bytes:
                    skipped += 1
                    continue
                total += member.size
                files += 1
                if total > max_bytes:
                    raise ArchiveError(f"the archive unpacks to more than {max_bytes} bytes")
                if files > max_files:
                    raise ArchiveError(f"the archive holds more than {max_files} Python files")
                target = base.joinpath(*parts)
                if not target.resolve().is_relative_to(base):
                    raise ArchiveError(f"refused archive member {member.name!r}")
                source = tar.extractfile(member)
                if source is None:
                    skipped += 1
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"not a readable gzipped tarball: {exc}") from exc
    root = base
    if len(tops) == 1:
        (top,) = tops
        if (base / top).is_dir():
            root = base / top  # GitHub's "owner-repo-sha/"
    return Unpacked(root=root, files=files, bytes=total, skipped=skipped)
