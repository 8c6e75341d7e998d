"""What input the product accepts, whatever the door (web form, JSON API, CLI, config).

* Text must be storable by both databases: PostgreSQL refuses NUL in text and JSON, and
  no driver can encode a lone UTF-16 surrogate (JSON ``"\\ud800"``).
* A link we render (``href``/``src``) or call must be ``http(s)://``: a ``javascript:``
  or ``data:`` URL set by a user or a token would run in an admin's browser.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

LINK_SCHEMES = ("http", "https")


def unstorable(value: str) -> str | None:
    """Why the databases cannot store ``value`` ("NUL", "surrogate"), or ``None``."""
    if "\x00" in value:
        return "NUL"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "surrogate"
    return None


def is_http_url(value: str) -> bool:
    """An absolute ``http://`` or ``https://`` URL with a host, nothing else."""
    if not value or value != value.strip() or any(ord(c) < 32 or c == "\x7f" for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(parts.hostname)


def http_url_or_none(value: object) -> str | None:
    """``value`` when it is a safe link (see :func:`is_http_url`), else ``None``."""
    return value if isinstance(value, str) and is_http_url(value) else None


def check_http_url(value: str) -> str:
    """A pydantic validator: ``value`` unless it is not an :func:`is_http_url` URL."""
    if not is_http_url(value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def utc_within(first: int, last: int) -> Callable[[datetime], datetime]:
    """A pydantic validator: a point in time in UTC (naive = UTC), within the years
    ``first``…``last``; ValueError with a message otherwise. The years are bound once:
    one call per value (it runs four times for every line of an import)."""

    def check(value: datetime) -> datetime:
        try:
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            elif value.tzinfo is not UTC:
                value = value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValueError("is not a valid point in time") from exc
        if not first <= value.year <= last:
            raise ValueError(f"must be between the years {first} and {last}")
        return value

    return check
