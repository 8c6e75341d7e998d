"""FastAPI dependencies: settings, the request's one transaction, the user, access rules.

One place decides access: :func:`require_user`, :func:`require_admin` for pages and
:func:`require_scope` for the JSON API (Bearer token, or an admin's session where the
route allows it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.apikit import ratelimit
from devops_center.config import Settings
from devops_center.db import statement_sessionmaker
from devops_center.i18n import gettext, lazy, negotiate_accept_language, pick_language
from devops_center.users import service as users
from devops_center.users import sessions as user_sessions
from devops_center.users import throttle
from devops_center.users import tokens as api_tokens
from devops_center.users.access import Caller
from devops_center.users.models import User
from devops_center.web.api import problems
from devops_center.web.session_cookie import (
    COOKIE_NAME,
    LANGUAGE_COOKIE,
    clear_cookie,
    set_cookie,
    touch_later,
)


class LoginRequired(Exception):
    """Raised for an anonymous visitor on a page that needs a user: redirect to /login."""


class AdminRequired(Exception):
    """A signed-in user who is not owner/superadmin: 403 page."""


class ApiAuthError(Exception):
    """An API request refused before its route runs: 401, 403 (scope), 429 (rate).

    ``detail`` is a msgid (translated in the problem answer, with ``params``)."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        required_scope: str | None = None,
        **params: object,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.type_ = type_
        self.headers = headers or {}
        self.required_scope = required_scope
        self.params = params

    def response(self, request: Request, lang: str) -> JSONResponse:
        """The problem+json answer, in ``lang``."""
        headers = dict(self.headers)
        if self.status_code == 401:
            headers["www-authenticate"] = "Bearer"
        return problems.problem(
            request,
            self.status_code,
            gettext(lang, self.detail, **self.params),
            type_=self.type_,
            headers=headers,
            required_scope=self.required_scope,
        )


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sm: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sm


_READ_ONLY = "_dcc_reads_only"
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def reads_only(endpoint: _Endpoint) -> _Endpoint:
    """Mark a GET route that writes nothing: on PostgreSQL its session sends no BEGIN
    and no COMMIT (two round trips of a dozen on the dashboard). Its statements see
    what they would see in a transaction — at READ COMMITTED each statement reads its
    own snapshot either way. A route that writes must not be marked: its statements
    would each commit alone."""
    setattr(endpoint, _READ_ONLY, True)
    return endpoint


def _sessions_for(request: Request) -> async_sessionmaker[AsyncSession]:
    if request.method in ("GET", "HEAD") and getattr(
        request.scope.get("endpoint"), _READ_ONLY, False
    ):
        return _statement_sessions(request)
    return get_sessionmaker(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's single transaction: committed when the route returns, else rolled back
    (a route marked :func:`reads_only`: its statements, on PostgreSQL without BEGIN/COMMIT)."""
    async with _sessions_for(request)() as session, session.begin():
        try:
            yield session
        except BaseException:
            # Keep loaded objects (the signed-in user) readable for the error page: a
            # rollback would expire them and the closed session could not reload them.
            session.expunge_all()
            raise


async def _settings_dependency(request: Request) -> Settings:
    # async: FastAPI runs plain ``def`` dependencies in the thread pool (a hop per request)
    return get_settings(request)


SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
# scope="function": committed before the response is sent, so a 303 after a POST never
# races its own write, and a failed commit becomes an error page instead of a lost write.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# A row id in a path: an id no column can hold (0, negative, beyond int4) is a 422 before
# any query, never an overflow inside the database driver (a 500).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def session_policy(request: Request) -> user_sessions.SessionPolicy:
    return user_sessions.SessionPolicy.from_settings(get_settings(request))


async def get_current_user(request: Request, session: SessionDep) -> User | None:
    """The user of the request's session cookie, if that session is live.

    One indexed read in the request's transaction. "Last seen" is written at most once
    a minute per session, after the response (:func:`touch_later`).
    """
    if "user" in request.state._state:
        cached: User | None = request.state.user
        return cached
    user = None
    token = request.cookies.get(COOKIE_NAME)
    if token:
        policy = session_policy(request)
        found = await user_sessions.resolve(session, token=token[:100], policy=policy)
        if found is None:
            clear_cookie(request)  # unknown, expired or revoked: the browser forgets it
        else:
            row, user = found
            request.state.session_id = row.id
            if user_sessions.needs_touch(row, policy):
                touch_later(request, row.id, client_ip(request))
    request.state.user = user
    return user


async def user_for_error_page(request: Request, *, look_up: bool = True) -> User | None:
    """The signed-in user for an error page: the one the route loaded, unless a failed
    flush expired it, else looked up in a short transaction of its own (a 404 outside any
    route, a 500). ``None`` when that fails or ``look_up`` is off (database away)."""
    if "user" in request.state._state:
        cached: User | None = request.state.user
        if cached is None or not sa_inspect(cached).expired_attributes:
            return cached
    request.state.user = None
    if not look_up or not request.cookies.get(COOKIE_NAME):
        return None
    del request.state.user
    try:
        async with asyncio.timeout(2), get_sessionmaker(request)() as session:
            return await get_current_user(request, session)
    except Exception:  # the page is drawn anyway, signed out
        request.state.user = None
        return None


async def sign_in(request: Request, session: AsyncSession, user: User) -> None:
    """Start a new session for ``user`` (a fresh random id: no session fixation); the
    session the browser had before, if any, ends."""
    old = request.cookies.get(COOKIE_NAME)
    if old:
        await user_sessions.end(session, token=old[:100])
    policy = session_policy(request)
    row, token = await user_sessions.start(
        session,
        user_id=user.id,
        policy=policy,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    set_cookie(request, token, max_age=int(policy.lifetime.total_seconds()))
    request.state.user = user
    request.state.session_id = row.id


async def sign_out(request: Request, session: AsyncSession) -> None:
    token = request.cookies.get(COOKIE_NAME)
    if token:
        await user_sessions.end(session, token=token[:100])
    clear_cookie(request)
    request.state.user = None
    request.state.session_id = None


async def reserve_password_check(request: Request, *, account: str) -> None:
    """Reserve one password check for ``account`` from this client's IP, committed at once
    in its own transaction (before the slow verification, so that parallel attempts see
    it); raises RateLimited when the (account, IP) or the IP is blocked."""
    policy = throttle.LoginPolicy(max_failures=get_settings(request).login_max_failures)
    async with get_sessionmaker(request)() as own, own.begin():
        await throttle.reserve_attempt(own, account=account, ip=client_ip(request), policy=policy)


CurrentUser = Annotated[User | None, Depends(get_current_user)]


async def require_user(user: CurrentUser) -> User:
    if user is None:
        raise LoginRequired()
    return user


async def require_admin(user: CurrentUser) -> User:
    if user is None:
        raise LoginRequired()
    if not users.is_admin(user):
        raise AdminRequired()
    return user


async def require_reader(user: CurrentUser) -> User:
    if user is None:
        raise LoginRequired()
    if not users.can_read_team_pages(user):
        raise AdminRequired()
    return user


UserDep = Annotated[User, Depends(require_user)]
AdminDep = Annotated[User, Depends(require_admin)]
# Pages a manager may read (GET only): the dashboard, deployments, incidents, status
# and triage. Every change on them stays AdminDep.
ReaderDep = Annotated[User, Depends(require_reader)]


def get_language(request: Request, user: CurrentUser, settings: SettingsDep) -> str:
    """The user's profile language, then the browser's choice (a cookie, for anonymous
    visitors too), then Accept-Language."""
    return pick_language(
        user.language if user else None,
        request.cookies.get(LANGUAGE_COOKIE),
        negotiate_accept_language(request.headers.get("accept-language"), ""),
        default=settings.default_language,
    )


async def _language_dependency(request: Request, user: CurrentUser, settings: SettingsDep) -> str:
    return get_language(request, user, settings)  # async: no thread-pool hop


LangDep = Annotated[str, Depends(_language_dependency)]


def require_scope(
    scope: str | None, *, allow_admin_session: bool = False
) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """JSON API access: a Bearer token with ``scope`` (401 without one, 403 without the
    scope) → the :class:`Caller`. A token acting for a user has the scope only if the
    user's role allows it too. Every token request counts against the token's rate
    limit (``DCC_API_RATE_LIMIT`` a minute; 429 once spent).

    With ``allow_admin_session`` a signed-in owner/superadmin may call the route too.
    """

    async def dependency(request: Request, session: SessionDep) -> Caller:
        value = bearer_token(request.headers.get("authorization", ""))
        if value is not None:
            caller = await token_caller(request, value)
            if scope and not caller.can(scope):
                raise ApiAuthError(
                    403,
                    lazy("This token lacks the scope %(scope)s")
                    if scope not in caller.token_scopes
                    else lazy("The user of this token may not use the scope %(scope)s"),
                    type_="scope",
                    required_scope=scope,
                    scope=scope,
                )
            return caller
        if allow_admin_session:
            user = await get_current_user(request, session)
            if user is not None:
                if users.is_admin(user):
                    return Caller.for_session(user)
                raise ApiAuthError(403, lazy("Owner or superadmin role required"))
        raise ApiAuthError(401, lazy("Missing bearer token"))

    return dependency


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (None for anything else)."""
    kind, _, value = header.partition(" ")
    return value.strip()[:200] if kind.lower() == "bearer" and value.strip() else None


def _statement_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    """Sessions for the token check: on PostgreSQL without BEGIN and COMMIT
    (:func:`~devops_center.db.statement_sessionmaker` — its read and its single-statement
    upsert need no transaction, and each round trip is a wait for the worker's loop
    under load); on SQLite the app's sessions. Made once per app."""
    state = request.app.state
    found: async_sessionmaker[AsyncSession] | None = getattr(state, "statement_sessions", None)
    if found is None:
        app_sessions = get_sessionmaker(request)
        found = state.statement_sessions = statement_sessionmaker(app_sessions) or app_sessions
    return found


async def token_caller(request: Request, plaintext: str) -> Caller:
    """Verify the token and count the request before the route's work, on a session of
    its own (on SQLite a short transaction that commits first: the route's transaction
    must not read before another connection writes, or its own first write fails)."""
    settings = get_settings(request)
    async with _statement_sessions(request)() as own, own.begin():
        caller = await api_tokens.caller_for_token(own, plaintext=plaintext)
        if caller is None or caller.token is None:
            raise ApiAuthError(401, lazy("Invalid, expired or revoked token"))
        rate = await ratelimit.hit(
            own, client=f"token:{caller.token.id}", limit=settings.api_rate_limit
        )
    request.state.ratelimit = rate
    if not rate.allowed:
        raise ApiAuthError(
            429,
            lazy("Too many requests with this token: wait %(seconds)s s."),
            type_="rate-limited",
            headers={"retry-after": str(rate.reset)},
            seconds=rate.reset,
        )
    return caller


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def prepare_page(request: Request, lang: LangDep) -> None:
    """Router-level dependency of every HTML page: the user and language for templates."""
    request.state.lang = lang
