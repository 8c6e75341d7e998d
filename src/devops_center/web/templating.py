"""Jinja2 templates with per-request translations, the user and the CSRF token."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from devops_center import i18n
from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments import presenter as deployment_labels
from devops_center.incidents import presenter as incident_labels
from devops_center.incidents.models import Incident
from devops_center.inputs import http_url_or_none
from devops_center.users import service as users

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Set by the Telegram Mini App (/tg/app): this browser is Telegram's, pages take its
# colours and a compact tab bar instead of the site's navigation.
IN_TELEGRAM_COOKIE = "dcc_tg"


def _context(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    lang: str = getattr(request.state, "lang", None) or settings.default_language
    user = getattr(request.state, "user", None)

    def _(message: str, **params: object) -> str:
        return i18n.gettext(lang, message, **params)

    def _n(singular: str, plural: str, n: int, **params: object) -> str:
        return i18n.ngettext(lang, singular, plural, n, **params)

    def _p(context: str, message: str, **params: object) -> str:
        return i18n.pgettext(lang, context, message, **params)

    def csrf_token() -> str:
        fn = request.scope.get("csrftoken")
        return str(fn()) if callable(fn) else ""

    def local_dt(when: datetime | None, fmt: str = "medium") -> str:
        if when is None:
            return "—"
        return i18n.format_datetime(when, lang, settings.tz, fmt)

    def ago(when: datetime | None) -> str:
        if when is None:
            return "—"
        return i18n.format_ago(when, lang, now=utcnow())

    def incident_duration(incident: Incident) -> str:
        return incident_labels.duration(incident, lang, now=utcnow())

    return {
        "_": _,
        "_n": _n,
        "_p": _p,
        "severity_label": lambda s: incident_labels.severity_label(s, lang),
        "incident_source": lambda s: incident_labels.source_label(s, lang),
        "incident_title": lambda i: incident_labels.title(i, lang),
        "incident_cause": incident_labels.cause_url,
        "incident_duration": incident_duration,
        "deployment_kind": lambda k: deployment_labels.kind_label(k, lang),
        "deployment_source": lambda s: deployment_labels.source_label(s, lang),
        "lang": lang,
        "user": user,
        "is_admin": bool(user is not None and user.is_admin),
        "is_reader": users.can_read_team_pages(user),
        "csrf_token": csrf_token,
        "local_dt": local_dt,
        "ago": ago,
        "settings": settings,
        "languages": i18n.LANGUAGE_NAMES,
        "in_telegram": bool(
            getattr(request.state, "in_telegram", False)
            or request.cookies.get(IN_TELEGRAM_COOKIE) == "1"
        ),
    }


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[_context])
    templates.env.autoescape = True
    # Links from stored data: http(s) only, also for rows saved before the write checks.
    templates.env.filters["http_url"] = lambda value: http_url_or_none(value) or ""
    return templates


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, name, context or {}, status_code=status_code, headers=headers
    )


def safe_next(target: str | None, default: str = "/support") -> str:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target
