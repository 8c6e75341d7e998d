"""Screenshots: validated by content, re-encoded without metadata, stored under a random name.

The web form and the bot (Telegram photos) both call :func:`store_image`; the page that
serves a screenshot calls :func:`open_image` after checking who may see it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from devops_center.config import Settings
from devops_center.errors import Invalid, NotFound, Unavailable
from devops_center.i18n import lazy

# Pillow format name → (file extension, Content-Type)
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = dict(FORMATS.values())
# Decompression-bomb guard, checked from the header before any decoding: a 5K screen is
# 14.7 MP and a long scrolling capture 1080 x 20000 is 21.6 MP.
MAX_PIXELS = 25_000_000
ORPHAN_AFTER = 3600  # seconds: a stored file no bug refers to after this is removed
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(png|jpg|webp)$")

FIELD = "screenshot"


class UploadInvalid(Invalid):
    """A refused upload; ``message`` (and ``fields['screenshot']``) is a translatable msgid."""

    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message, fields={FIELD: message})
        self.params = params


@dataclass(frozen=True)
class StoredImage:
    path: Path
    content_type: str
    filename: str


def _refuse_not_image() -> UploadInvalid:
    return UploadInvalid(lazy("The screenshot must be a PNG, JPEG or WebP image"))


def _refuse_too_many_pixels() -> UploadInvalid:
    return UploadInvalid(
        lazy("The image is too large: at most %(mp)s megapixels"), mp=MAX_PIXELS // 1_000_000
    )


def check_size(data: bytes, *, max_bytes: int) -> None:
    """UploadInvalid for an empty or too large file (no decoding: cheap, on the loop)."""
    if not data:
        raise UploadInvalid(lazy("The file is empty"))
    if len(data) > max_bytes:
        raise UploadInvalid(
            lazy("The screenshot is too large (at most %(mb)s MB)"),
            mb=_mb(max_bytes),
        )


def validate_image(data: bytes, *, max_bytes: int) -> tuple[Image.Image, str]:
    """The decoded image and its format, or UploadInvalid. Decides by content only.

    CPU-heavy for large images: call it in a thread (``asyncio.to_thread``)."""
    check_size(data, max_bytes=max_bytes)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            if fmt not in FORMATS:
                raise _refuse_not_image()
            if probe.width * probe.height > MAX_PIXELS:
                raise _refuse_too_many_pixels()
            probe.verify()  # structure and checksums
        # verify() leaves the image unusable: decode it fully to catch truncated data.
        image = Image.open(io.BytesIO(data))
        image.load()
    except UploadInvalid:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit: the header alone says so
        raise _refuse_too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse_not_image() from None
    return image, fmt


def _mb(max_bytes: int) -> str:
    value = max_bytes / (1024 * 1024)
    return f"{value:.3g}"


def _reencode(image: Image.Image, fmt: str) -> bytes:
    """A fresh file with pixels only: no EXIF, GPS, XMP, comments or ICC profile.

    Pillow writes what ``image.info`` carries (an ICC profile, PNG text chunks) unless
    told otherwise, so everything but a palette's transparency is dropped first."""
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    out = io.BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=False)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, format="WEBP", quality=90)
    return out.getvalue()


# Decoding a large image costs up to a second of CPU and ~100 MB: two at a time per
# process (a thread semaphore: taken inside the worker thread, whatever the event loop).
_IMAGE_SLOTS = threading.BoundedSemaphore(2)


def store_image(settings: Settings, data: bytes) -> str:
    """Validate ``data`` and store it; returns the stored name (the bug's screenshot key).
    Call it in a worker thread: it decodes and re-encodes the image (two at a time).

    Raises :class:`UploadInvalid` (a domain ``Invalid`` with a translatable message) for
    anything but a complete PNG, JPEG or WebP image within ``settings.max_upload_bytes``.
    """
    with _IMAGE_SLOTS:
        return _store_image(settings, data)


def _store_image(settings: Settings, data: bytes) -> str:
    image, fmt = validate_image(data, max_bytes=settings.max_upload_bytes)
    try:
        clean = _reencode(image, fmt)
    except (OSError, ValueError):
        raise _refuse_not_image() from None
    finally:
        image.close()
    ext = FORMATS[fmt][0]
    name = f"{secrets.token_urlsafe(24)}.{ext}"
    directory = settings.uploads_path
    path = directory / name
    tmp = directory / f".{name}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as fh:
            fh.write(clean)
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise Unavailable(
            lazy("Screenshots cannot be stored right now. Send the report without one.")
        ) from None
    return name


def storage_problem(settings: Settings) -> str | None:
    """Why screenshots cannot be stored (for /readyz and ``dcc config check``), or None."""
    directory = settings.uploads_path
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"upload directory {directory} cannot be created: {exc.strerror}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"upload directory {directory} is not writable"
    return None


def stored_files(settings: Settings, *, older_than: float) -> list[str]:
    """Names of stored screenshots (and leftover temporary files) older than ``older_than``
    seconds."""
    directory = settings.uploads_path
    if not directory.is_dir():
        return []
    cutoff = time.time() - older_than
    out = []
    for entry in os.scandir(directory):
        if not entry.is_file(follow_symlinks=False):
            continue
        if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
            continue
        if _KEY_RE.match(entry.name) or (
            entry.name.startswith(".") and entry.name.endswith(".tmp")
        ):
            out.append(entry.name)
    return out


def remove_file(settings: Settings, name: str) -> None:
    (settings.uploads_path / name).unlink(missing_ok=True)


_STORED_IN_TRANSACTION = "dcc_uploads_of_transaction"


def delete_on_rollback(session: AsyncSession, settings: Settings, key: str) -> None:
    """Remove the stored file ``key`` if the session's transaction rolls back (the row
    that names it is then gone); kept once it commits."""
    stored = session.sync_session.info.setdefault(_STORED_IN_TRANSACTION, [])
    stored.append(settings.uploads_path / key)


@event.listens_for(Session, "after_commit")
def _keep_files(session: Session) -> None:
    session.info.pop(_STORED_IN_TRANSACTION, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_files(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        for path in session.info.pop(_STORED_IN_TRANSACTION, []):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def open_image(settings: Settings, key: str) -> StoredImage:
    """Where a stored screenshot is, with its Content-Type; NotFound for any odd key."""
    if not _KEY_RE.match(key or ""):
        raise NotFound(lazy("No such screenshot"))
    path = settings.uploads_path / key
    if not path.is_file():
        raise NotFound(lazy("No such screenshot"))
    ext = key.rsplit(".", 1)[1]
    return StoredImage(path=path, content_type=CONTENT_TYPES[ext], filename=f"screenshot.{ext}")


def delete_image(settings: Settings, key: str | None) -> None:
    """Remove a stored screenshot (when its bug could not be saved); silent if absent."""
    if key and _KEY_RE.match(key):
        with contextlib.suppress(OSError):
            (settings.uploads_path / key).unlink(missing_ok=True)
