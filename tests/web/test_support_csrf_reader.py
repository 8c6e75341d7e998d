"""The CSRF form reader in front of asgi-csrf: chunked multipart bodies, replay, refusals."""

from __future__ import annotations

from typing import Any

from itsdangerous.url_safe import URLSafeSerializer

from devops_center.web.csrf_multipart import FormTokenReader

SECRET = "s" * 40


def _token() -> str:
    return URLSafeSerializer(SECRET).dumps("abc123", "csrftoken")


async def _call(body: bytes, content_type: bytes, cookie: str, chunk: int) -> dict[str, Any]:
    seen: dict[str, Any] = {"body": b"", "called": False, "status": None}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["called"] = True
        seen["header"] = dict(scope["headers"]).get(b"x-csrftoken")
        more = True
        while more:
            message = await receive()
            seen["body"] += message.get("body", b"")
            more = message.get("more_body", False)

    async def failed(scope: Any, send: Any, message_id: object) -> None:
        seen["status"] = 403

    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        pass

    reader = FormTokenReader(
        app, secret=SECRET, always_protect=set(), skip_if_scope=lambda s: False, send_failed=failed
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/support/bug",
        "headers": [(b"content-type", content_type), (b"cookie", f"csrftoken={cookie}".encode())],
    }
    await reader(scope, receive, send)
    return seen


def _multipart(token: str, boundary: bytes = b"B0uNd") -> bytes:
    return (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\n'
        + token.encode()
        + b"\r\n--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="screenshot"; '
        b'filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        + b"\x89PNG" * 5000
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )


async def test_chunked_multipart_token_is_found_and_body_replayed() -> None:
    token = _token()
    body = _multipart(token)
    for chunk in (7, 100, 65536):
        seen = await _call(body, b'multipart/form-data; boundary="B0uNd"', token, chunk)
        assert seen["called"] and seen["status"] is None
        assert seen["header"] == token.encode()
        assert seen["body"] == body  # the app reads every byte, untouched


async def test_wrong_unsigned_or_missing_tokens_are_refused() -> None:
    token = _token()
    forged = URLSafeSerializer("other" * 10).dumps("abc123", "csrftoken")
    cases = [
        (_multipart(forged), forged),  # the cookie's signature is not ours
        (_multipart("nope"), token),  # the form's token differs from the cookie
        (_multipart(token).replace(b'name="csrftoken"', b'name="title"'), token),
        (b"garbage without boundaries", token),
    ]
    for body, cookie in cases:
        seen = await _call(body, b"multipart/form-data; boundary=B0uNd", cookie, 50)
        assert seen["status"] == 403 and not seen["called"]
    seen = await _call(
        b"title=x&csrftoken=" + token.encode(), b"application/x-www-form-urlencoded", token, 5
    )
    assert seen["called"] and seen["body"].endswith(token.encode())
