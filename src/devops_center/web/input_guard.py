"""One guard for text neither database can store, at the door of every request.

* The address: NUL (``%00``) is taken out of the query string and the path before
  routing. Query strings only filter and search, so dropping a NUL there is harmless
  (``/admin/bugs?q=%00`` lists bugs instead of failing in PostgreSQL).
* The body: :func:`refuse_unstorable_input`, a dependency of every route, refuses a form
  field or a JSON value holding NUL or a lone surrogate with
  :class:`UnstorableInput` (422, naming the field), before any route code runs — so
  nothing is half-stored, on SQLite as on PostgreSQL.

Webhooks are left to their receivers: their bodies are signed and kept byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Receive, Scope, Send

from devops_center.inputs import unstorable

_QUERY_NUL = re.compile(rb"%00|\x00", re.IGNORECASE)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
EXEMPT_PREFIXES = ("/webhooks/",)


class UnstorableInput(Exception):
    """A request value that holds NUL or a lone surrogate. ``loc`` as in FastAPI's 422."""

    def __init__(self, loc: list[str | int], reason: str) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {reason}")
        self.loc = loc
        self.reason = reason

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.loc[1:]) or str(self.loc[0])


class StripNulFromAddress:
    """Drop NUL from the query string and the path (the address), before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            path: str = scope.get("path", "")
            if _QUERY_NUL.search(query) or "\x00" in path:
                scope = dict(scope)
                scope["query_string"] = _QUERY_NUL.sub(b"", query)
                scope["path"] = path.replace("\x00", "")
        await self.app(scope, receive, send)


async def refuse_unstorable_input(request: Request) -> None:
    """Every form field and JSON value of the request must be storable text."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.url.path.startswith(EXEMPT_PREFIXES):
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        form = await request.form()
        for name, value in form.multi_items():
            _check(["body", name], name)
            if isinstance(value, UploadFile):
                _check(["body", name], value.filename or "")
            else:
                _check(["body", name], value)
    elif content_type == "application/json" or content_type.endswith("+json"):
        try:
            document = await request.json()
        except (ValueError, RecursionError):
            return  # not JSON: the route's own validation answers
        _walk(document)


def _check(loc: list[str | int], value: str) -> None:
    reason = unstorable(value)
    if reason:
        raise UnstorableInput(loc, reason)


def _walk(document: Any) -> None:
    """Check every key and string of a JSON document, without recursion."""
    stack: list[tuple[list[str | int], Any]] = [(["body"], document)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            _check(loc, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check([*loc, key], key)
                stack.append(([*loc, key], item))
        elif isinstance(value, list):
            stack.extend(([*loc, i], item) for i, item in enumerate(value))


__all__ = ["StripNulFromAddress", "UnstorableInput", "refuse_unstorable_input"]
