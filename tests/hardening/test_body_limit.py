"""Oversized bodies are refused with 413 before any route reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

MB = 1024 * 1024


async def test_declared_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    for path in ("/webhooks/github", "/webhooks/telegram", "/api/v1/deployments"):
        response = await client.post(
            path,
            content=b"{" + b" " * (5 * MB) + b"}",
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413, path
        assert "too large" in response.json()["detail"]


async def test_streamed_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(26):  # past the 25 MB cap of browser forms, no Content-Length
            yield b"x" * MB

    response = await client.post(
        "/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


async def test_small_bodies_pass_through(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/whoami", json={})
    assert response.status_code != 413
