"""The session cookie: a random id of a server-side session (``users.sessions``).

Why a small middleware of our own and not ``starsessions`` with a database store:
starsessions keeps an opaque serialized dict per id and writes it back on *every*
response (it refreshes its ``last_access`` metadata on each load), through a store
that runs outside the request's transaction — a second and third database round trip
per request, and no way to list or revoke a user's sessions but by decoding blobs.
Our sessions are rows with a user, a device and times, read in the request's own
transaction by :func:`devops_center.web.deps.get_current_user` (one indexed join),
written only at sign-in, at sign-out and at most once a minute for "last seen". What
is left for a middleware is to put the cookie that the request decided on into the
response, and to write "last seen" after the response is sent, which is this class.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devops_center.users import sessions as user_sessions

log = logging.getLogger("devops_center.web")

COOKIE_NAME = "dcc_session"
LANGUAGE_COOKIE = "dcc_lang"
_STATE_KEY = "dcc_session_cookie"
_TOUCH_KEY = "dcc_session_touch"


def set_cookie(request: Request, token: str, *, max_age: int) -> None:
    """Send the browser this session id with the response."""
    setattr(request.state, _STATE_KEY, (token, max_age))  # lands in scope["state"]


def clear_cookie(request: Request) -> None:
    """Make the browser forget its session id (signed out, expired or unknown)."""
    setattr(request.state, _STATE_KEY, ("", 0))


def touch_later(request: Request, session_id: int, ip: str | None) -> None:
    """Write the session's "last seen" once the response has been sent (in a short
    transaction of its own: the request's connection is back in the pool by then, and
    SQLite's write lock is not held for the length of a page)."""
    setattr(request.state, _TOUCH_KEY, (session_id, ip))


class SessionCookieMiddleware:
    """Adds the ``Set-Cookie`` decided during the request and writes "last seen" after
    the response (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Request.state lives in scope["state"]; made here so that every copy of the
        # scope further in shares this one dict.
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and _STATE_KEY in state:
                token, max_age = state.pop(_STATE_KEY)
                cookie = Response()
                cookie.set_cookie(
                    COOKIE_NAME,
                    token,
                    max_age=max_age,
                    path="/",
                    secure=self.secure,
                    httponly=True,
                    samesite="lax",
                )
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", cookie.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_cookie)
        if _TOUCH_KEY in state:
            await self._touch(scope, *state.pop(_TOUCH_KEY))

    @staticmethod
    async def _touch(scope: Scope, session_id: int, ip: str | None) -> None:
        app_state = scope["app"].state
        policy = user_sessions.SessionPolicy.from_settings(app_state.settings)
        try:
            async with app_state.sessionmaker() as session, session.begin():
                await user_sessions.touch(session, session_id=session_id, policy=policy, ip=ip)
        except Exception as exc:  # the answer is sent; a lost "last seen" is harmless
            log.warning("session last-seen not recorded: %s", exc.__class__.__name__)
