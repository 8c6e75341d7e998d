"""What the v1 routers share: cursors for keyset paging, UTC times in queries, scopes, and
bodies that come as JSON or as a multipart form with one file."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import AfterValidator, BaseModel, ValidationError
from starlette.datastructures import UploadFile

from devops_center.inputs import utc_within
from devops_center.support.uploads import StoredImage
from devops_center.web.api.problems import COMMON, problem_responses

MIN_YEAR, MAX_YEAR = 1970, 2200
M = TypeVar("M", bound=BaseModel)


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


_utc = utc_within(MIN_YEAR, MAX_YEAR)


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


async def read_body_with_file(
    request: Request, model: type[M], *, file_field: str, max_bytes: int
) -> tuple[M, bytes | None]:
    """A JSON body, or a multipart form whose ``file_field`` is a file, validated as
    ``model``; the file's first ``max_bytes + 1`` bytes (the caller refuses a larger one).
    Errors are 422s naming the field, as FastAPI's own."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    image: bytes | None = None
    data: Any
    if content_type == "multipart/form-data":
        form = await request.form()
        data = {}
        for name, value in form.multi_items():
            if name == file_field:
                if isinstance(value, UploadFile) and (value.filename or value.size):
                    image = await value.read(max_bytes + 1)
                elif isinstance(value, str) and value:
                    image = value.encode()
                continue
            data[name] = value if isinstance(value, str) else value.filename
    elif content_type == "application/json" or content_type.endswith("+json"):
        try:
            data = json.loads(await request.body())
        except (ValueError, RecursionError):
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "the body is not JSON text", "type": "json_invalid"}]
            ) from None
    else:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "content-type"),
                    "msg": "send application/json or multipart/form-data",
                    "type": "content_type",
                }
            ]
        )
    try:
        return model.model_validate(data), image
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


# A stored image (a screenshot, an attachment), as the API serves it.
IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image",
        "content": {
            t: {"schema": {"type": "string", "format": "binary"}}
            for t in ("image/png", "image/jpeg", "image/webp")
        },
    },
    **problem_responses(*COMMON, 404),
}


def image_file(stored: StoredImage) -> FileResponse:
    return FileResponse(
        stored.path,
        media_type=stored.content_type,
        headers={"cache-control": "private, max-age=3600"},
    )
