"""Screenshots: validated by content, re-encoded without metadata, stored under a random name.

The web form and the bot (Telegram photos) both call :func:`store_image`; the page that
serves a screenshot calls :func:`open_image` after checking who may see it.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from devops_center.config import Settings
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy

# Pillow format name → (file extension, Content-Type)
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = dict(FORMATS.values())
MAX_PIXELS = 40_000_000  # decompression-bomb guard (a 20000 x 2000 screenshot is plenty)
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


def validate_image(data: bytes, *, max_bytes: int) -> tuple[Image.Image, str]:
    """The decoded image and its format, or UploadInvalid. Decides by content only."""
    if not data:
        raise UploadInvalid(lazy("The file is empty"))
    if len(data) > max_bytes:
        raise UploadInvalid(
            lazy("The screenshot is too large (at most %(mb)s MB)"),
            mb=_mb(max_bytes),
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            if fmt not in FORMATS:
                raise _refuse_not_image()
            if probe.width * probe.height > MAX_PIXELS:
                raise UploadInvalid(lazy("The image has too many pixels"))
            probe.verify()  # structure and checksums
        # verify() leaves the image unusable: decode it fully to catch truncated data.
        image = Image.open(io.BytesIO(data))
        image.load()
    except UploadInvalid:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse_not_image() from None
    return image, fmt


def _mb(max_bytes: int) -> str:
    value = max_bytes / (1024 * 1024)
    return f"{value:.3g}"


def _reencode(image: Image.Image, fmt: str) -> bytes:
    """A fresh file with pixels only: no EXIF, GPS, comments or ICC profile."""
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


def store_image(settings: Settings, data: bytes) -> str:
    """Validate ``data`` and store it; returns the stored name (the bug's screenshot key).

    Raises :class:`UploadInvalid` (a domain ``Invalid`` with a translatable message) for
    anything but a complete PNG, JPEG or WebP image within ``settings.max_upload_bytes``.
    """
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
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = directory / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(clean)
    tmp.replace(path)
    return name


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
        (settings.uploads_path / key).unlink(missing_ok=True)
