"""What a web worker's first requests would pay, paid before it listens.

A new worker compiles each template on its first render, builds and prepares each SQL
statement on its first run, loads the locales' data and parses the DORA roll-up days it
reads (:mod:`devops_center.dora.day_cache`): some hundreds of milliseconds a page the
first time. Seen under 50 clients right after ``dcc web --workers 4`` started: p50 650 ms
for three seconds, then 45 ms. ``dcc web`` runs this in every worker's startup, before
its socket listens (so the kernel hands its connections to warm workers only); a failure
here (a database not migrated yet) is logged and the worker starts anyway. Last, what it
made is frozen out of the garbage collector's full collections.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from fastapi import FastAPI

from devops_center import i18n
from devops_center.config import Settings
from devops_center.dora import presenter
from devops_center.dora import service as dora

log = logging.getLogger("devops_center.web")
WARM_UP_SECONDS = 15.0


async def warm_up(app: FastAPI) -> None:
    started = time.perf_counter()
    # FastAPI builds a router's routes (their dependencies, their validators) when the
    # first request asks it to match: 230 ms for the API's. A path that no route
    # matches asks every router.
    nowhere = {
        "type": "http",
        "method": "GET",
        "path": "/-/warm-up",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in app.router.routes:
        route.matches(nowhere)
    env = app.state.templates.env
    for name in env.list_templates(extensions=("html",)):
        env.get_template(name)
    settings: Settings = app.state.settings
    try:
        async with asyncio.timeout(WARM_UP_SECONDS):
            async with app.state.sessionmaker() as session, session.begin():
                # the dashboard's default view: production, all services, 30 days
                report = await dora.dora_report(
                    session, days=30, tz=settings.timezone, cfr_mode=settings.cfr_mode
                )
            for lang in i18n.SUPPORTED:
                presenter.dashboard(report, lang)
    except Exception as exc:
        log.warning("web worker warm-up stopped early: %s: %s", type(exc).__name__, exc)
    # Everything made so far (modules, routes, templates, the kept days) lives as long
    # as the worker: out of the collector's sight, a full collection walks the objects
    # made since (3 ms) instead of all of them (100 ms, every few thousand requests,
    # stalling every request in flight on this worker).
    gc.collect()
    gc.freeze()
    log.info("web worker warmed up in %.0f ms", (time.perf_counter() - started) * 1000)
