"""ASGI entry point for ``uvicorn --factory devops_center.web.asgi:app_factory``."""

from __future__ import annotations

from fastapi import FastAPI

from devops_center.config import get_settings
from devops_center.web.app import create_app


def app_factory() -> FastAPI:
    return create_app(get_settings())
