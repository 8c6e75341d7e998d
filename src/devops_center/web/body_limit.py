"""Request body caps, enforced before a route reads anything.

Webhooks and the JSON API take at most 5 MB (GitHub's own cap on webhook payloads is
25 MB, but nothing we accept is near 5 MB). Browser forms, and the API's multipart
uploads (a screenshot), get room for an oversized upload to reach the handler, so that
the user sees "file too large" beside the field rather than a bare error; anything
beyond that is refused too. The API's refusal is a problem document (RFC 9457).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MB = 1024 * 1024
MACHINE_PREFIXES = ("/webhooks/", "/api/")


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, machine_limit: int, form_limit: int) -> None:
        self.app = app
        self.machine_limit = machine_limit
        self.form_limit = form_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = dict(scope["headers"])
        upload = path.startswith("/api/") and headers.get(b"content-type", b"").lower().startswith(
            b"multipart/form-data"
        )
        machine = path.startswith(MACHINE_PREFIXES) and not upload
        limit = self.machine_limit if machine else self.form_limit
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await _refuse(send, limit, path)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, limit, path)


async def _refuse(send: Send, limit: int, path: str) -> None:
    detail = f"request body too large (limit {limit // MB} MB)"
    document: dict[str, object] = {"detail": detail}
    content_type = b"application/json"
    if path.startswith("/api/"):
        document = {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": detail,
            "instance": path,
        }
        content_type = b"application/problem+json"
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
