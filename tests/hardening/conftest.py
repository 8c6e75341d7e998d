"""A real server for the hardening tests: uvicorn on a free port, in a thread of its own.

The app is built inside the server thread (its own event loop and connection pool), so
schemathesis and the webhook fuzzers talk real HTTP to it, as a client on the network would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
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
def live_server_with(engine: object) -> Iterator[Callable[[Settings], LiveServer]]:
    """``live_server_with(settings)`` → a server of those settings, stopped at the end.

    ``engine`` first, so the tables are emptied before the server starts and after.
    """
    stops: list[Callable[[], None]] = []

    def start(settings: Settings) -> LiveServer:
        server, stop = _start(settings)
        stops.append(stop)
        return server

    yield start
    for stop in stops:
        stop()


@pytest.fixture
def live_server(
    settings: Settings, live_server_with: Callable[[Settings], LiveServer]
) -> LiveServer:
    return live_server_with(settings)


def _start(settings: Settings) -> tuple[LiveServer, Callable[[], None]]:
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

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return LiveServer(url=url, settings=settings), stop
