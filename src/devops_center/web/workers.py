"""``dcc web --workers N``: N uvicorn servers, each listening on a socket of its own.

Uvicorn's supervisor hands one listening socket to every worker, and asyncio accepts all
the connections waiting on it at each wake-up: keep-alive clients (a proxy's upstream
pool, an API integration) pile onto whichever worker woke first, and stay there. Seen
with 50 clients on 4 workers: 19/17/7/7 connections, one worker at 77 % of a core and
queueing while the others idled. Here every worker binds the address with
``SO_REUSEPORT`` and the kernel spreads new connections over the workers' sockets.

The parent only supervises: a worker that dies is started again; SIGTERM or SIGINT stops
them all (each finishes its requests, as uvicorn does). Where ``SO_REUSEPORT`` is missing,
uvicorn's own supervisor runs instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("devops_center.web")
APP = "devops_center.web.asgi:app_factory"
RESTART_PAUSE = 1.0  # s between the restarts of a worker that keeps dying


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, log_level: str) -> None:
    """One web worker process: its own socket, one uvicorn server."""
    sock = _listening_socket(host, port)
    config = uvicorn.Config(
        APP, host=host, port=port, log_level=log_level, factory=True, proxy_headers=True
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int, log_level: str) -> int:
    """Run ``workers`` web workers until SIGTERM/SIGINT; the exit status."""
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(
            APP,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            factory=True,
            proxy_headers=True,
        )
        return 0
    # The address must be free for us (another program on it would take connections).
    _listening_socket(host, port).close()
    spawn = multiprocessing.get_context("spawn")
    procs: dict[int, BaseProcess] = {}
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    def start(slot: int) -> None:
        proc = spawn.Process(target=_worker, args=(host, port, log_level), name=f"web-{slot}")
        proc.start()
        procs[slot] = proc

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        start(slot)
    status = 0
    while not stopping:
        time.sleep(0.2)
        for slot, proc in list(procs.items()):
            if proc.is_alive() or stopping:
                continue
            if proc.exitcode == STARTUP_FAILURE:
                log.error("a web worker could not start: stopping")
                stopping.append(0)
                status = 1
                break
            log.warning("web worker %s exited (%s): starting another", proc.pid, proc.exitcode)
            time.sleep(RESTART_PAUSE)
            start(slot)
    for proc in procs.values():
        if proc.is_alive():
            proc.terminate()
    for proc in procs.values():
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return status
