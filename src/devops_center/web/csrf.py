"""CSRF protection for every browser form: one short middleware of our own.

Why not a library: the maintained ASGI ones either check only a header (fine for a
JavaScript client, not for plain HTML forms and file uploads: starlette-csrf) or parse
the whole form body themselves and fail with a 500 on bodies a browser or a client can
send (odd multipart boundaries, non-UTF-8 bytes, a client leaving mid-upload: asgi-csrf,
which this replaces). What this does:

* **Double-submit, signed.** Every visitor gets a ``csrftoken`` cookie (random, with an
  HMAC of our secret so a cookie planted from a sibling domain is not accepted; HttpOnly,
  SameSite=Lax). Pages put the same value in the first field of each form
  (``{{ csrf_token() }}``, read from ``scope["csrftoken"]``).
* **Checked before any route.** An unsafe request (POST, PUT, PATCH, DELETE) outside the
  exempt prefixes (the JSON API and webhooks, which authenticate otherwise) must carry the
  cookie and the same value in the ``X-CSRFToken`` header (htmx) or the form's
  ``csrftoken`` field. For multipart only the first part is read (our forms put the token
  first, before any file) and the body is replayed untouched to the route; a malformed
  body has no token. Sign-in, sign-out and the language switch are checked even without
  a cookie (login CSRF).
* **Fetch metadata.** A browser that says the request is ``cross-site`` is refused
  whatever it carries.
* A refusal is the bilingual 403 page, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "csrftoken"
FIELD = "csrftoken"
HEADER = b"x-csrftoken"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MAX_PREFIX = 64 * 1024  # bytes of a multipart body read while looking for the token

FAILED_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/pico-2.1.1.min.css"><title>403</title></head>
<body><main class="container"><h1>403</h1>
<p>This form has expired or was not sent from this site. Go back, reload the page and try again.</p>
<p lang="ru">Форма устарела или отправлена не с этого сайта. Вернитесь, обновите страницу
и попробуйте ещё раз.</p><p><a href="/">&larr; DCC</a></p></main></body></html>"""


class CSRFMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str,
        secure: bool,
        exempt_prefixes: Iterable[str],
        always_protect: Iterable[str] = ("/login", "/logout", "/language"),
    ) -> None:
        self.app = app
        self.key = hashlib.sha256(b"dcc-csrf:" + secret.encode()).digest()
        self.secure = secure
        self.exempt = tuple(exempt_prefixes)
        self.always_protect = frozenset(always_protect)

    # ------------------------------------------------------------------ tokens

    def _sign(self, nonce: str) -> str:
        mac = hmac.new(self.key, nonce.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{nonce}.{mac}"

    def _valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 1 or len(token) > 200:
            return False
        nonce = token.split(".", 1)[0]
        return secrets.compare_digest(self._sign(nonce), token)

    # -------------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _cookie(scope, COOKIE)
        fresh = cookie is None or not self._valid(cookie)
        token: str = self._sign(secrets.token_urlsafe(24)) if fresh or cookie is None else cookie
        scope = {**scope, "csrftoken": lambda: token}

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                header = f"{COOKIE}={token}; Path=/; SameSite=Lax; HttpOnly"
                header += "; Secure" if self.secure else ""
                message = {
                    **message,
                    "headers": [*message["headers"], (b"set-cookie", header.encode())],
                }
            await send(message)

        if scope["method"] not in UNSAFE or str(scope["path"]).startswith(self.exempt):
            await self.app(scope, receive, send_with_cookie)
            return
        headers = dict(scope.get("headers") or [])
        if headers.get(b"sec-fetch-site") == b"cross-site":
            await _refuse(send)
            return
        if cookie is None and scope["path"] not in self.always_protect:
            # No cookie: nothing a forged request could ride on. (Bearer clients, curl.)
            await self.app(scope, receive, send_with_cookie)
            return
        sent, messages = await self._sent_token(scope, headers, receive)
        if messages is None:  # the client went away
            return
        if fresh or not sent or not secrets.compare_digest(sent.encode(), token.encode()):
            await _refuse(send)
            return
        await self.app(scope, _replay(messages, receive), send_with_cookie)

    async def _sent_token(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive
    ) -> tuple[str | None, list[Message] | None]:
        if HEADER in headers:
            return headers[HEADER].decode("latin-1"), []
        kind, options = parse_options_header(headers.get(b"content-type", b""))
        if kind == b"application/x-www-form-urlencoded":
            return await _urlencoded_token(receive)
        if kind == b"multipart/form-data" and options.get(b"boundary"):
            return await _multipart_token(options[b"boundary"], receive)
        return None, []


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": FAILED_PAGE.encode()})


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers") or []:
        if key != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                found: str = v.strip().strip('"')
                return found
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
    found: str | None = next((v for k, v in fields if k == FIELD), None)
    return found, messages


class _Stop(Exception):
    pass


async def _multipart_token(
    boundary: bytes, receive: Receive
) -> tuple[str | None, list[Message] | None]:
    """The value of the first part if it is the ``csrftoken`` field, else None."""
    state: dict[str, Any] = {"headers": [], "value": b"", "done": False}
    field, value = bytearray(), bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def on_header_end() -> None:
        state["headers"].append((bytes(field).lower(), bytes(value)))
        field.clear()
        value.clear()

    def on_headers_finished() -> None:
        disposition = dict(state["headers"]).get(b"content-disposition", b"")
        _kind, opts = parse_options_header(disposition)
        if b"filename" in opts or opts.get(b"name") != FIELD.encode():
            raise _Stop  # the first part must be the token (our forms put it first)

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
    seen, more = 0, True
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
    if not state["done"]:
        return None, messages
    return state["value"].decode("utf-8", "replace"), messages
