"""Every router of the web app, in one list. Each feature adds its router here."""

from __future__ import annotations

from fastapi import FastAPI

from devops_center.web.api import v1 as api_v1
from devops_center.web.pages import auth, health, support_home
from devops_center.web.webhooks import telegram as telegram_webhook


def include_all(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(support_home.router)
    app.include_router(api_v1.router)
    app.include_router(telegram_webhook.router)
