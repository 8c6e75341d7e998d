"""Every router of the web app, in one list. Each feature adds its router here."""

from __future__ import annotations

from fastapi import FastAPI

import devops_center.web.api.deployments as api_deployments
import devops_center.web.pages.admin_deployments as admin_deployments
import devops_center.web.pages.admin_devops as admin_devops
from devops_center.web.api import architecture as api_architecture
from devops_center.web.api import audit as api_audit
from devops_center.web.api import bugs as api_bugs
from devops_center.web.api import changelog as api_changelog
from devops_center.web.api import comments as api_comments
from devops_center.web.api import faq as api_faq
from devops_center.web.api import incidents as api_incidents
from devops_center.web.api import invites as api_invites
from devops_center.web.api import users as api_users
from devops_center.web.api import v1 as api_v1
from devops_center.web.api.status import router as status_api_router
from devops_center.web.metrics import install as install_metrics
from devops_center.web.pages import (
    account,
    admin_architecture,
    admin_audit,
    admin_brain,
    admin_bugs,
    admin_changelog,
    admin_faq,
    admin_github,
    admin_jobs,
    admin_tokens,
    admin_users,
    api_docs,
    auth,
    health,
    invite,
    support_faq,
    support_home,
    telegram_app,
)
from devops_center.web.pages.admin_status import router as admin_status_router
from devops_center.web.webhooks import github as github_webhooks
from devops_center.web.webhooks import telegram as telegram_webhook


def include_all(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(account.router)
    app.include_router(support_home.router)
    app.include_router(support_faq.router)
    app.include_router(admin_bugs.router)
    app.include_router(admin_brain.router)  # /admin/faq/gaps before /admin/faq/{id}
    app.include_router(admin_faq.router)
    app.include_router(admin_tokens.router)
    app.include_router(telegram_app.router)
    app.include_router(admin_users.router)
    app.include_router(admin_audit.router)
    app.include_router(invite.router)
    app.include_router(api_v1.router)
    app.include_router(api_bugs.router)
    app.include_router(api_comments.router)
    app.include_router(api_faq.router)
    app.include_router(api_incidents.router)
    app.include_router(api_users.router)
    app.include_router(api_audit.router)
    app.include_router(api_invites.router)
    app.include_router(api_docs.router)
    app.include_router(github_webhooks.router)
    app.include_router(admin_github.router)
    app.include_router(admin_jobs.router)
    app.include_router(api_deployments.router)
    app.include_router(admin_devops.router)
    app.include_router(admin_deployments.router)
    app.include_router(admin_status_router)
    install_metrics(app)
    app.include_router(status_api_router)
    app.include_router(telegram_webhook.router)
    app.include_router(api_architecture.router)
    app.include_router(admin_architecture.router)
    app.include_router(api_changelog.router)
    app.include_router(admin_changelog.router)
