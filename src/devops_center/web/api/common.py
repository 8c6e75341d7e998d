"""What the v1 routers share: cursors for keyset paging, UTC times in queries, scopes."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

MIN_YEAR, MAX_YEAR = 1970, 2200


def encode_cursor(position: tuple[datetime, int] | None) -> str | None:
    """An opaque cursor for the position after a page's last row."""
    if position is None:
        return None
    at, row_id = position
    raw = json.dumps([at.astimezone(UTC).isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The position of a cursor; a 422 naming ``cursor`` when it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, row_id = json.loads(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError
        return at.astimezone(UTC), row_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": "not a cursor of this API", "type": "value_error"}]
        ) from None


def _utc(value: datetime) -> datetime:
    try:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("is not a valid point in time") from exc
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page; none: the first"),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Any unique string (a UUID): a retry with the same key gets the first "
        "answer back instead of doing the work twice. Kept 24 h.",
    ),
]


def scope_doc(scope: str) -> dict[str, Any]:
    """``openapi_extra`` naming the scope a route needs (read by the scope tests)."""
    return {"x-required-scope": scope}
