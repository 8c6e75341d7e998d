"""Process runners: the embedded all-in-one server, the worker and the bot processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from devops_center.bot.runner import run_bot
from devops_center.config import Settings, served_at
from devops_center.db import make_engine, make_sessionmaker
from devops_center.web.app import create_app
from devops_center.worker import drain, run_worker

log = logging.getLogger("devops_center.serve")


async def run_embedded(
    settings: Settings, *, host: str, port: int, stop: asyncio.Event | None = None
) -> None:
    """Web + worker (+ bot when configured) in one process, on one event loop."""

    settings = served_at(settings, host, port)  # the web check probes this very server
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    app = create_app(settings, engine=engine, sessionmaker=sessionmaker, process_kind="embedded")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
            lifespan="on",
        )
    )
    stop = stop or asyncio.Event()
    background = [asyncio.create_task(run_worker(settings, sessionmaker, stop=stop))]
    if settings.telegram_enabled().enabled:
        app.state.telegram_wakeup = wakeup = asyncio.Event()  # webhook → bot, same process
        background.append(asyncio.create_task(run_bot(settings, sessionmaker, stop, wakeup=wakeup)))

    async def stop_server() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_server())
    try:
        await server.serve()
    finally:
        stop.set()
        watcher.cancel()
        for task in background:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=10)
        await engine.dispose()


async def run_worker_process(settings: Settings, *, once: bool, concurrency: int) -> int:

    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    try:
        if once:
            return await drain(settings, sessionmaker)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, sessionmaker, stop=stop, concurrency=concurrency)
        return 0
    finally:
        await engine.dispose()


BOT_POOL = 20


async def run_bot_process(settings: Settings) -> None:
    # A fixed pool: under a burst of updates an overflow connection would be opened and
    # closed again for each (about 10 ms of CPU with its set-up queries, measured by
    # bench/bot.py); the updates wait a moment for a pooled one instead.
    engine = make_engine(settings.database_url, pool_size=BOT_POOL, max_overflow=0)
    sessionmaker = make_sessionmaker(engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_bot(settings, sessionmaker, stop)
    finally:
        await engine.dispose()
