"""The JSON API's transport rules, in one ASGI middleware around ``/api/v1``:

* ``Idempotency-Key`` on POST (``apikit.idempotency``): a retry gets the first answer
  back (``Idempotent-Replayed: true``); the same key while the first request still runs
  → 409 (``Retry-After: 1``); the same key with another body → 422.
* ``ETag`` on every successful JSON read, and ``304 Not Modified`` for a matching
  ``If-None-Match``.
* ``RateLimit-*`` headers on every answer to a token (the figures ``require_scope``
  counted).
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devops_center import i18n
from devops_center.apikit import idempotency
from devops_center.web import deps
from devops_center.web.api import problems

log = logging.getLogger("devops_center.web.api")

PREFIX = "/api/v1/"
KEEP_HEADERS = ("content-type", "location", "etag")
# Answers not worth keeping for a retry: the retry should run again.
NOT_KEPT = frozenset({401, 403, 408, 425, 429})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _rate_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    rate = (scope.get("state") or {}).get("ratelimit")
    if rate is None:
        return []
    return [(k.lower().encode(), v.encode()) for k, v in rate.headers().items()]


def _valid_key(raw: str) -> str | None:
    """The key of an ``Idempotency-Key`` header (a structured-field string, quotes
    optional): 1 to 200 visible ASCII characters."""
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= 200 or any(not 0x21 <= ord(c) <= 0x7E for c in key):
        return None
    return key


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


class _Captured:
    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()


class ApiMiddleware:
    def __init__(self, app: ASGIApp, *, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.app = app
        self.sessionmaker = sessionmaker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "POST" and _header(scope, b"idempotency-key") is not None:
            await self._idempotent(scope, receive, send)
        elif method in ("GET", "HEAD"):
            await self._conditional(scope, receive, send)
        else:
            await self.app(scope, receive, self._with_rate_headers(scope, send))

    def _with_rate_headers(self, scope: Scope, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], *_rate_headers(scope)]}
            await send(message)

        return wrapped

    # ------------------------------------------------------------- conditional reads

    async def _conditional(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        buffered = bytearray()
        passthrough = False

        async def capture(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *_rate_headers(scope)]
                content_type = dict(headers).get(b"content-type", b"")
                if message["status"] != 200 or b"json" not in content_type:
                    passthrough = True
                    await send({**message, "headers": headers})
                    return
                start = {**message, "headers": headers}
                return
            if passthrough or start is None:
                await send(message)
                return
            buffered.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            await self._send_read(scope, send, start, bytes(buffered))

        await self.app(scope, receive, capture)

    async def _send_read(self, scope: Scope, send: Send, start: Message, body: bytes) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        extra = [(b"etag", etag.encode()), (b"cache-control", b"private, no-cache")]
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        wanted = _header(scope, b"if-none-match")
        if wanted is not None and _etag_matches(wanted, etag):
            keep = [(k, v) for k, v in headers if k.lower() != b"content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": keep + extra})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [*extra, (b"content-length", str(len(body)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # ---------------------------------------------------------------- idempotent POST

    async def _idempotent(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        lang = problems.api_language(request)
        key = _valid_key(_header(scope, b"idempotency-key") or "")
        if key is None:
            detail = i18n.gettext(lang, "Idempotency-Key must be 1 to 200 visible ASCII characters")
            await problems.problem(request, 400, detail)(scope, receive, send)
            return
        credentials = _header(scope, b"authorization")
        if not credentials:  # nothing to tie the key to: the route answers 401
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        client = hashlib.sha256(credentials.encode("latin-1")).hexdigest()
        fingerprint = _fingerprint(scope, body)
        async with self.sessionmaker() as session, session.begin():
            claim = await idempotency.claim(
                session, client=client, key=key, fingerprint=fingerprint
            )
        if claim.outcome != "proceed":
            if not await self._still_allowed(request, credentials, lang, send):
                return
            send = self._with_rate_headers(scope, send)
        if claim.outcome == "replay":
            headers = [(k.encode(), v.encode()) for k, v in claim.headers]
            headers.append((b"idempotent-replayed", b"true"))
            await send(
                {"type": "http.response.start", "status": claim.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": claim.body})
            return
        if claim.outcome == "in_progress":
            detail = i18n.gettext(
                lang, "A request with this Idempotency-Key is still running: retry shortly"
            )
            response = problems.problem(
                request, 409, detail, type_="idempotency-in-progress", headers={"retry-after": "1"}
            )
            await response(scope, receive, send)
            return
        if claim.outcome == "mismatch":
            detail = i18n.gettext(lang, "This Idempotency-Key was used for a different request")
            response = problems.problem(request, 422, detail, type_="idempotency-mismatch")
            await response(scope, receive, send)
            return
        assert claim.record_id is not None
        await self._run_and_keep(scope, receive, send, body, key, claim.record_id)

    async def _still_allowed(
        self, request: Request, credentials: str, lang: str, send: Send
    ) -> bool:
        """An answer kept for a key (or a refusal naming the key) goes only to a token
        that is still valid, and counts against its rate limit like any request; else
        the token's 401/429 is sent. (A new request is checked by its route.)"""
        token = deps.bearer_token(credentials)
        try:
            if token is None:
                raise deps.ApiAuthError(401, i18n.lazy("Missing bearer token"))
            await deps.token_caller(request, token)
        except deps.ApiAuthError as exc:
            await exc.response(request, lang)(request.scope, request.receive, send)
            return False
        return True

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, key: str, record_id: int
    ) -> None:
        scope.setdefault("state", {})["idempotency_key"] = key
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # the body is read: only a disconnect can come

        out = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                out.status = int(message["status"])
                out.headers = [*message.get("headers", []), *_rate_headers(scope)]
            elif message["type"] == "http.response.body":
                out.body.extend(message.get("body", b""))

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await self._release(record_id)
            raise
        keep = 200 <= out.status < 500 and out.status not in NOT_KEPT
        if keep:
            kept = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in out.headers
                if k.decode("latin-1").lower() in KEEP_HEADERS
            ]
            async with self.sessionmaker() as session, session.begin():
                await idempotency.complete(
                    session,
                    record_id=record_id,
                    status_code=out.status,
                    headers=kept,
                    body=bytes(out.body),
                )
        else:
            await self._release(record_id)
        await send({"type": "http.response.start", "status": out.status, "headers": out.headers})
        await send({"type": "http.response.body", "body": bytes(out.body)})

    async def _release(self, record_id: int) -> None:
        try:
            async with self.sessionmaker() as session, session.begin():
                await idempotency.release(session, record_id=record_id)
        except Exception:  # the claim goes stale and is taken over later
            log.warning("could not release idempotency claim %s", record_id, exc_info=True)


async def _read_body(receive: Receive) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.extend(message.get("body", b""))
        if not message.get("more_body"):
            break
    return bytes(chunks)


def _fingerprint(scope: Scope, body: bytes) -> str:
    """What makes two requests "the same": method, path, query and body. A multipart
    body's boundary is random per sending (curl draws a new one for a retry), so it is
    taken out before hashing."""
    content_type = _header(scope, b"content-type") or ""
    media, _, params = content_type.partition(";")
    if media.strip().lower() == "multipart/form-data":
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.lower() == "boundary" and value:
                body = body.replace(value.strip('"').encode("latin-1"), b"")
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")):
        digest.update(part.encode() + b"\n")
    digest.update(media.strip().lower().encode() + b"\n")
    digest.update(body)
    return digest.hexdigest()
