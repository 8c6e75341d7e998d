"""Read the CSRF form field robustly before asgi-csrf sees a form POST.

asgi-csrf parses form bodies itself and fails with a 500 on several inputs a browser or
a client can send: a multipart ``boundary`` not written exactly ``; boundary=``, a body
that is not UTF-8, a client that disconnects mid-upload, and ``python-multipart``
versions whose file hooks it does not expect. This wrapper sits in front of it:

* for a form POST (urlencoded or multipart) that asgi-csrf would check, it reads the
  body only up to the ``csrftoken`` field (which our forms send first, before any file),
  checks it against the signed ``csrftoken`` cookie exactly as asgi-csrf does, and on
  success hands the token on in the ``x-csrftoken`` header with the body replayed
  untouched, so asgi-csrf accepts it without parsing the body;
* any missing, misplaced or wrong token answers the friendly 403 page, never a 500.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from itsdangerous import BadSignature
from itsdangerous.url_safe import URLSafeSerializer
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "csrftoken"
FORM_FIELD = "csrftoken"
HEADER = b"x-csrftoken"
NAMESPACE = "csrftoken"  # asgi-csrf's DEFAULT_SIGNING_NAMESPACE
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
MAX_PREFIX = 64 * 1024  # bytes of a multipart body read while looking for the token

SendFailed = Callable[[Scope, Send, object], Awaitable[None]]


class _Stop(Exception):
    pass


class FormTokenReader:
    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str,
        always_protect: Iterable[str],
        skip_if_scope: Callable[[Scope], bool],
        send_failed: SendFailed,
    ) -> None:
        self.app = app
        self.signer = URLSafeSerializer(secret)
        self.always_protect = set(always_protect)
        self.skip_if_scope = skip_if_scope
        self.send_failed = send_failed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = _drop_undecodable_cookies(scope)  # asgi-csrf would fail on them with a 500
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if HEADER in headers or headers.get(b"authorization", b"").startswith(b"Bearer "):
            await self.app(scope, receive, send)  # asgi-csrf compares the header itself
            return
        if not headers.get(b"cookie") and scope["path"] not in self.always_protect:
            await self.app(scope, receive, send)
            return
        if self.skip_if_scope(scope):
            await self.app(scope, receive, send)
            return
        ctype, options = parse_options_header(headers.get(b"content-type", b""))
        if ctype == b"application/x-www-form-urlencoded":
            token, messages = await _urlencoded_token(receive)
        elif ctype == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                await self.send_failed(scope, send, "csrf")
                return
            token, messages = await _multipart_token(boundary, receive)
        else:
            await self.app(scope, receive, send)  # asgi-csrf refuses it with its 403
            return
        if messages is None:  # client went away
            return
        if not token or not self._matches_cookie(scope, token):
            await self.send_failed(scope, send, "csrf")
            return
        new_headers = [(k, v) for k, v in scope["headers"] if k != HEADER]
        new_headers.append((HEADER, token.encode("latin-1", "replace")))
        await self.app({**scope, "headers": new_headers}, _replay(messages, receive), send)

    def _matches_cookie(self, scope: Scope, token: str) -> bool:
        cookie = _cookie(scope, COOKIE_NAME)
        if not cookie:
            return False
        try:
            self.signer.loads(cookie, NAMESPACE)
        except BadSignature:
            return False
        return secrets.compare_digest(token.encode(), cookie.encode())


def _drop_undecodable_cookies(scope: Scope) -> Scope:
    headers = scope.get("headers") or []
    for key, value in headers:
        if key == b"cookie":
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return {**scope, "headers": [(k, v) for k, v in headers if k != b"cookie"]}
    return scope


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers") or []:
        if key != b"cookie":
            continue
        text: str = value.decode("latin-1")
        for part in text.split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v.strip().strip('"')
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    queue = list(messages)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


async def _urlencoded_token(receive: Receive) -> tuple[str | None, list[Message] | None]:
    messages: list[Message] = []
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None, None
        messages.append(message)
        body += message.get("body", b"")  # the size cap is BodyLimitMiddleware's (413)
        more = message.get("more_body", False)
    fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    token = next((v for k, v in fields if k == FORM_FIELD), None)
    return token, messages


async def _multipart_token(
    boundary: bytes, receive: Receive
) -> tuple[str | None, list[Message] | None]:
    """The value of the first part if it is the ``csrftoken`` field, else None."""
    state: dict[str, Any] = {"headers": [], "name": None, "value": b"", "done": False}
    header_field = bytearray()
    header_value = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        state["headers"].append((bytes(header_field).lower(), bytes(header_value)))
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        disposition = dict(state["headers"]).get(b"content-disposition", b"")
        _kind, opts = parse_options_header(disposition)
        if b"filename" in opts or opts.get(b"name") != FORM_FIELD.encode():
            raise _Stop  # the first part must be the token (forms put it first)
        state["name"] = FORM_FIELD

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]
        if len(state["value"]) > 1024:
            raise _Stop

    def on_part_end() -> None:
        state["done"] = True
        raise _Stop

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    messages: list[Message] = []
    seen = 0
    more = True
    while more:
        message = await receive()  # errors of the server (body too large…) propagate
        if message["type"] != "http.request":
            return None, None
        messages.append(message)
        chunk = message.get("body", b"")
        seen += len(chunk)
        try:
            parser.write(chunk)
        except _Stop:
            break
        except Exception:  # malformed multipart: no token
            return None, messages
        if seen > MAX_PREFIX:
            break
        more = message.get("more_body", False)
    if not state["done"] or state["name"] != FORM_FIELD:
        return None, messages
    return state["value"].decode("utf-8", "replace"), messages
