"""ASGI entry point for ``uvicorn --factory devops_center.web.asgi:app_factory`` (what every
``dcc web`` worker runs)."""

from __future__ import annotations

from fastapi import FastAPI

from devops_center.config import get_settings
from devops_center.web.app import create_app
from devops_center.web.warmup import warm_up


def app_factory() -> FastAPI:
    app = create_app(get_settings())
    app.state.startup_hooks.append(warm_up)
    return app
