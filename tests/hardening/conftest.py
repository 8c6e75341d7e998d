"""A real server for the hardening tests: uvicorn on a free port, in a thread of its own.

The app is built inside the server thread (its own event loop and connection pool), so
schemathesis and the webhook fuzzers talk real HTTP to it, as a client on the network would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from devops_center.config import Settings


@dataclass
class LiveServer:
    url: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings, engine: object) -> Iterator[LiveServer]:
    """``engine`` first, so the tables are emptied before the server starts and after."""
    from devops_center.web.app import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:  # pragma: no cover - a broken start-up
        pytest.fail("the live server did not start")
    try:
        yield LiveServer(url=url, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
