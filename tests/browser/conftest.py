"""Headless Chromium (Debian's, never a downloaded one) and a live server for browser tests.

Skipped when Playwright or Chromium is missing, except under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CI

CHROMIUM = os.environ.get("DCC_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def _missing(what: str) -> None:
    if CI:
        pytest.fail(f"{what} is required under CI=true", pytrace=False)
    pytest.skip(f"{what} unavailable")


@pytest.fixture
async def server(app: Any) -> AsyncIterator[str]:
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    for _ in range(200):
        if srv.started:
            break
        await asyncio.sleep(0.02)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = srv.force_exit = True
        await task


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("playwright")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _missing("chromium")
    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                # a container's /dev/shm may be 64 MB: a large page crashes the renderer
                "--disable-dev-shm-usage",
            ],
        )
        try:
            yield b
        finally:
            await b.close()


# the evaluation FAQ with the real embedding model (tests/brain/conftest.py)
from tests.brain.conftest import eval_set, faq, model  # noqa: E402, F401
