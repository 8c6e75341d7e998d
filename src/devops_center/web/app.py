"""The web application: pages, JSON API, webhooks, health. Built by :func:`create_app`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from devops_center import __version__, i18n
from devops_center.config import Settings
from devops_center.db import db_error_kind, db_error_summary, make_engine, make_sessionmaker
from devops_center.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unavailable,
)
from devops_center.i18n import lazy
from devops_center.processes.service import Heartbeat
from devops_center.web.api import problems
from devops_center.web.api.middleware import ApiMiddleware
from devops_center.web.body_limit import MB, BodyLimitMiddleware
from devops_center.web.csrf import CSRFMiddleware
from devops_center.web.deps import (
    AdminRequired,
    ApiAuthError,
    LoginRequired,
    get_language,
    user_for_error_page,
)
from devops_center.web.input_guard import (
    StripNulFromAddress,
    UnstorableInput,
    refuse_unstorable_input,
)
from devops_center.web.session_cookie import SessionCookieMiddleware
from devops_center.web.templating import make_templates, render

log = logging.getLogger("devops_center.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Paths that are not browser forms: they authenticate otherwise (Bearer token, HMAC
# signature, Telegram secret) and never read the session cookie for writes.
CSRF_EXEMPT_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/readyz", "/metrics", "/static/")

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return (
        path.startswith(("/api/", "/webhooks/"))
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


async def _lang(request: Request, *, look_up_user: bool = True) -> str:
    """The language of an error page: the signed-in user's, else the session's choice,
    else Accept-Language. Outside a route (a 404, a 500) the user is looked up first, so
    the page also shows their navigation; never while the database is away."""
    if problems.is_api(request):  # API messages: Accept-Language, else English
        request.state.lang = problems.api_language(request)
        return str(request.state.lang)
    user = None
    if not _wants_json(request):
        user = await user_for_error_page(request, look_up=look_up_user)
    lang = getattr(request.state, "lang", None)
    if lang:
        return str(lang)
    settings: Settings = request.app.state.settings
    request.state.lang = get_language(request, user, settings)
    return str(request.state.lang)


async def error_page(
    request: Request, status_code: int, title: str, message: str, **extra: Any
) -> Response:
    await _lang(request)
    if problems.is_api(request):
        return problems.problem(request, status_code, message, **extra)
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status_code)
    return render(
        request,
        "error.html",
        {"status_code": status_code, "title": title, "message": message, **extra},
        status_code=status_code,
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first
    route's, wrong when GET and POST of one path are separate routes)."""
    from starlette.routing import Match

    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _domain_problem(request: Request, exc: DomainError, lang: str, message: str) -> Response | None:
    """The problem+json answer of /api/v1 to a refused input, a conflict or a rate limit;
    None for the refusals that read the same on the API as on a page."""
    if isinstance(exc, Invalid):
        errors = [
            {"loc": ["body", k], "msg": i18n.gettext(lang, v, **exc.params), "type": "invalid"}
            for k, v in exc.fields.items()
        ]
        return problems.validation_problem(request, errors, detail=message)
    if isinstance(exc, Conflict):
        return problems.problem(request, 409, message, type_="conflict")
    if isinstance(exc, RateLimited):
        return problems.problem(
            request,
            429,
            message,
            type_="rate-limited",
            headers={"retry-after": str(exc.retry_after)},
        )
    return None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if problems.is_api(request):
            lang = await _lang(request)
            detail = i18n.gettext(lang, "Authentication required")
            return problems.problem(request, 401, detail, headers={"www-authenticate": "Bearer"})
        if _wants_json(request):
            return JSONResponse({"detail": "authentication required"}, status_code=401)
        from urllib.parse import quote, urlsplit

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        in_page = request.headers.get("HX-Request") == "true"
        if in_page:
            # An in-page (htmx) request after the session expired: send the whole page to
            # the sign-in form and back, instead of drawing the form inside a panel.
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            if page.path.startswith("/"):
                target = page.path + (f"?{page.query}" if page.query else "")
        login = f"/login?next={quote(target, safe='')}"
        if in_page:
            return Response(status_code=200, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303)

    @app.exception_handler(AdminRequired)
    async def admin_required(request: Request, exc: AdminRequired) -> Response:
        lang = await _lang(request)
        return await error_page(
            request,
            403,
            i18n.gettext(lang, "Access denied"),
            i18n.gettext(lang, "This page is for owners and superadmins only."),
        )

    @app.exception_handler(ApiAuthError)
    async def api_auth(request: Request, exc: ApiAuthError) -> Response:
        return exc.response(request, await _lang(request))

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        lang = await _lang(request)
        message = i18n.gettext(lang, exc.message, **exc.params)
        api = _domain_problem(request, exc, lang, message) if problems.is_api(request) else None
        if api is not None:
            return api
        if isinstance(exc, NotFound):
            return await error_page(request, 404, i18n.gettext(lang, "Not found"), message)
        if isinstance(exc, Forbidden):
            return await error_page(request, 403, i18n.gettext(lang, "Access denied"), message)
        if isinstance(exc, Unavailable):
            title = i18n.gettext(lang, "Temporarily unavailable")
            response = await error_page(request, 503, title, message)
            response.headers["retry-after"] = "60"
            return response
        if isinstance(exc, RateLimited):
            title = i18n.gettext(lang, "Too many requests")
            response = await error_page(request, 429, title, message)
            response.headers["retry-after"] = str(exc.retry_after)
            return response
        if isinstance(exc, Invalid) and _wants_json(request):
            fields = {k: i18n.gettext(lang, v) for k, v in exc.fields.items()}
            return JSONResponse({"detail": message, "fields": fields}, status_code=422)
        return await error_page(
            request,
            409 if not isinstance(exc, Invalid) else 422,
            i18n.gettext(lang, "Request refused"),
            message,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        lang = await _lang(request)
        titles = {
            404: i18n.gettext(lang, "Not found"),
            403: i18n.gettext(lang, "Access denied"),
            405: i18n.gettext(lang, "Method not allowed"),
            413: i18n.gettext(lang, "Request too large"),
        }
        title = titles.get(exc.status_code, i18n.gettext(lang, "Request refused"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and not _wants_json(request):
            detail = i18n.gettext(lang, "There is no page at this address.")
        response = await error_page(request, exc.status_code, title, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["allow"] = _allowed_methods(request)
        return response

    @app.exception_handler(UnstorableInput)
    async def unstorable_input(request: Request, exc: UnstorableInput) -> Response:
        lang = await _lang(request)
        message = i18n.gettext(
            lang,
            "The field “%(field)s” contains a character that cannot be stored (a NUL byte "
            "or a broken Unicode character). Remove it and try again.",
            field=exc.field,
        )
        if problems.is_api(request):
            item = {"loc": exc.loc, "msg": message, "type": "unstorable_text"}
            return problems.validation_problem(request, [item])
        if _wants_json(request):
            item = {"loc": exc.loc, "msg": message, "type": "unstorable_text"}
            return JSONResponse({"detail": [item]}, status_code=422)
        return await error_page(request, 422, i18n.gettext(lang, "Request refused"), message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if problems.is_api(request):
            return problems.validation_problem(request, [dict(e) for e in exc.errors()])
        if _wants_json(request):
            errors = [
                {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
                for e in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        lang = await _lang(request)
        return await error_page(
            request,
            422,
            i18n.gettext(lang, "Request refused"),
            i18n.gettext(lang, "The form was incomplete or malformed. Please try again."),
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(ConnectionError)  # asyncpg: refused/reset while PG restarts
    @app.exception_handler(TimeoutError)
    async def database_error(request: Request, exc: Exception) -> Response:
        """Only a database that is away is "not answering" (503). A unique violation is a
        conflict (409) and a value it cannot store is bad input (422); anything else is
        a bug, answered by the 500 page."""
        kind = db_error_kind(exc)
        if kind == "bug":
            raise exc
        if kind != "unavailable":
            log.warning(
                "database refused %s %s (%s): %s",
                request.method,
                request.url.path,
                kind,
                db_error_summary(exc),
            )
            lang = await _lang(request)
            return await error_page(
                request,
                409 if kind == "conflict" else 422,
                i18n.gettext(lang, "Request refused"),
                i18n.gettext(lang, DB_REFUSALS[kind]),
            )
        log.error("database error on %s: %s", request.url.path, db_error_summary(exc))
        lang = await _lang(request, look_up_user=False)
        response = await error_page(
            request,
            503,
            i18n.gettext(lang, "Temporarily unavailable"),
            i18n.gettext(lang, "The database is not answering. Please try again in a moment."),
        )
        response.headers["retry-after"] = "5"
        return response


DB_REFUSALS = {
    "conflict": lazy(
        "This change clashes with data saved meanwhile (the same thing twice, or someone "
        "else's change). Reload the page, check and try again."
    ),
    "invalid": lazy(
        "The database cannot store a value of this request (a character it does not "
        "accept, or a number or date out of range). Check what you entered."
    ),
}


class UnhandledErrorPage:
    """An exception no handler took: logged with its traceback and a short reference,
    answered with the same localized error page (the user's navigation, the security
    headers, the session kept) instead of a bare "Internal Server Error"."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            reference = secrets.token_hex(4)
            log.exception(
                "unhandled error (reference %s) on %s %s",
                reference,
                scope.get("method"),
                scope.get("path"),
            )
            if started:
                raise
            request = Request(scope, receive)
            lang = await _lang(request)
            response = await error_page(
                request,
                500,
                i18n.gettext(lang, "Something went wrong"),
                i18n.gettext(
                    lang,
                    "The server could not finish this request. It has been logged; "
                    "please try again, and tell an administrator if it keeps happening.",
                ),
                reference=reference,
            )
            if problems.is_api(request):
                response = problems.problem(
                    request,
                    500,
                    i18n.gettext(lang, "Internal error: the server could not finish this request"),
                    reference=reference,
                )
            elif isinstance(response, JSONResponse):
                response = JSONResponse(
                    {"detail": "internal error", "reference": reference}, status_code=500
                )
            await response(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    process_kind: str = "web",
) -> FastAPI:
    """Build the ASGI app. The engine is created here (never at import) unless given.

    While served (its lifespan), the app keeps a heartbeat of ``process_kind`` ("web", or
    "embedded" when ``dcc serve`` runs everything in one process).
    """
    owns_engine = engine is None and sessionmaker is None
    if sessionmaker is None:
        engine = engine or make_engine(settings.database_url)
        sessionmaker = make_sessionmaker(engine)
    heartbeat_db = sessionmaker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        heartbeat = Heartbeat.start(heartbeat_db, process_kind)
        try:
            for hook in app.state.startup_hooks:
                await hook(app)
            yield
            for hook in reversed(app.state.shutdown_hooks):
                await hook(app)
        finally:
            await heartbeat.stop()
        if owns_engine and engine is not None:
            await engine.dispose()

    app = FastAPI(
        title="DevOps Command Center",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # our own /api/docs (web/pages/api_docs.py): vendored, CSP-clean
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(refuse_unstorable_input)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.templates = make_templates()
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []

    _install_error_handlers(app)

    from devops_center.web import routes

    routes.include_all(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    # Outermost last: security headers wrap everything, then the session cookie, then CSRF,
    # then the 500 page (inside them all, so it has the headers, the user and the CSRF token).
    app.add_middleware(UnhandledErrorPage)
    # Idempotency-Key, ETag and RateLimit-* headers of /api/v1 (sees the final answers).
    app.add_middleware(ApiMiddleware, sessionmaker=sessionmaker)
    app.add_middleware(
        CSRFMiddleware,
        secret=settings.session_secret(),
        secure=settings.secure_cookies,
        exempt_prefixes=CSRF_EXEMPT_PREFIXES,
    )
    app.add_middleware(SessionCookieMiddleware, secure=settings.secure_cookies)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    app.add_middleware(StripNulFromAddress)
    app.add_middleware(
        BodyLimitMiddleware,
        machine_limit=5 * MB,
        form_limit=max(25 * MB, int(settings.max_upload_mb * 4 * MB)),
    )
    return app
