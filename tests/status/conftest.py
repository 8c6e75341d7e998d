"""Real local targets for the checks: an HTTP server whose behaviour the test switches
(200, 500, hang, a keyword), and a TCP port that can be closed and opened again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest


class Target:
    """A tiny HTTP/1.1 server on 127.0.0.1. ``mode``: ok | error | hang."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.body = "all good: healthy"
        self.port = 0
        self.hits = 0
        self._server: asyncio.Server | None = None
        self._hung: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        self.hits += 1
        if self.mode == "hang":
            self._hung.append(writer)
            return
        status = "200 OK" if self.mode == "ok" else "500 Internal Server Error"
        body = self.body.encode() if self.mode == "ok" else b"boom"
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in self._hung:
                w.close()
            self._hung.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = Target()
    await t.start()
    try:
        yield t
    finally:
        await t.stop()


def http_check(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "api", "type": "http", "url": url, "timeout": 0.5, **extra}
