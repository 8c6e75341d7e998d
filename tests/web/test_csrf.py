"""The CSRF middleware on its own: chunked multipart bodies, replay, refusals, cookies."""

from __future__ import annotations

from typing import Any

from devops_center.web.csrf import CSRFMiddleware

SECRET = "s" * 40


def _middleware(app: Any, secret: str = SECRET) -> CSRFMiddleware:
    return CSRFMiddleware(app, secret=secret, secure=False, exempt_prefixes=("/api/",))


def _token(secret: str = SECRET) -> str:
    return _middleware(None, secret)._sign("abc123")


async def _call(
    body: bytes,
    content_type: bytes,
    cookie: str | None,
    chunk: int,
    *,
    path: str = "/support/bug",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    seen: dict[str, Any] = {"body": b"", "called": False, "status": None, "set_cookie": None}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["called"] = True
        seen["token"] = scope["csrftoken"]()
        more = True
        while more:
            message = await receive()
            seen["body"] += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
            seen["set_cookie"] = dict(message["headers"]).get(b"set-cookie")

    headers = [(b"content-type", content_type), *(extra or [])]
    if cookie is not None:
        headers.append((b"cookie", f"csrftoken={cookie}".encode()))
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    await _middleware(app)(scope, receive, send)
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
        assert seen["called"] and seen["status"] == 200
        assert seen["token"] == token and seen["set_cookie"] is None
        assert seen["body"] == body  # the app reads every byte, untouched


async def test_wrong_unsigned_or_missing_tokens_are_refused() -> None:
    token = _token()
    forged = _token("other" * 10)
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


async def test_cookies_headers_and_fetch_metadata() -> None:
    token = _token()
    form = b"application/x-www-form-urlencoded"
    # No cookie at all: nothing a forged request could ride on (curl, a Bearer client)...
    seen = await _call(b"title=x", form, None, 64)
    assert seen["called"] and seen["status"] == 200
    assert seen["set_cookie"].startswith(b"csrftoken=") and b"HttpOnly" in seen["set_cookie"]
    # ...except sign-in, sign-out and the language switch (login CSRF).
    seen = await _call(b"email=x", form, None, 64, path="/login")
    assert seen["status"] == 403 and not seen["called"]
    # htmx sends the token in a header instead of the body.
    seen = await _call(b"", form, token, 64, extra=[(b"x-csrftoken", token.encode())])
    assert seen["called"] and seen["status"] == 200
    # A browser that says the request comes from another site is refused outright.
    body = b"csrftoken=" + token.encode()
    seen = await _call(body, form, token, 64, extra=[(b"sec-fetch-site", b"cross-site")])
    assert seen["status"] == 403 and not seen["called"]
    seen = await _call(body, form, token, 64, extra=[(b"sec-fetch-site", b"same-origin")])
    assert seen["called"]
    # The JSON API authenticates otherwise and is never checked.
    seen = await _call(b"{}", b"application/json", "garbage", 64, path="/api/v1/x")
    assert seen["called"]
