"""The signed-in user's own account: their sessions (see and end them), how they hear
about their bugs, and their password."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.errors import Invalid, RateLimited
from devops_center.i18n import gettext, ngettext
from devops_center.users import service as users
from devops_center.users import sessions as user_sessions
from devops_center.users import throttle
from devops_center.users.models import User
from devops_center.web.deps import (
    LangDep,
    RowId,
    SessionDep,
    UserDep,
    client_ip,
    prepare_page,
    reserve_password_check,
    session_policy,
    sign_in,
    sign_out,
)
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


def _account(user: User) -> str:
    """The throttle's account key of a signed-in user (the bot's users have no email)."""
    return users.normalize_email(user.email) if user.email else f"#{user.id}"


async def _page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    rows = await user_sessions.list_live(session, user_id=user.id, policy=session_policy(request))
    # The User-Agent parser compiles its rules on first use (~0.2 s): not on the loop.
    devices = await asyncio.to_thread(lambda: [user_sessions.device(r.user_agent) for r in rows])
    policy = session_policy(request)
    lang = request.state.lang
    current = getattr(request.state, "session_id", None)
    items: list[dict[str, Any]] = [
        {"row": row, "device": device, "current": row.id == current}
        for row, device in zip(rows, devices, strict=True)
    ]
    items.sort(key=lambda item: not item["current"])  # this device first
    return render(
        request,
        "account/sessions.html",
        {
            "sessions": items,
            "idle": _duration(lang, policy.idle),
            "lifetime": _duration(lang, policy.lifetime),
            "others": sum(1 for item in items if not item["current"]),
            "has_password": bool(user.password_hash),
            "errors": errors or {},
            "error": error,
            "ended": _count(request.query_params.get("ended")),
            "changed": request.query_params.get("changed") == "1",
            "notify_saved": request.query_params.get("notify") == "1",
            "notify_via": user.notify_via,
            "has_telegram": bool(user.telegram_id),
        },
        status_code=status_code,
    )


def _duration(lang: str, value: timedelta) -> str:
    """12 hours, 14 days, 90 minutes: in the largest whole unit."""
    minutes = max(1, round(value.total_seconds() / 60))
    if minutes % (24 * 60) == 0:
        n = minutes // (24 * 60)
        return ngettext(lang, "%(n)s day", "%(n)s days", n, n=n)
    if minutes % 60 == 0:
        n = minutes // 60
        return ngettext(lang, "%(n)s hour", "%(n)s hours", n, n=n)
    return ngettext(lang, "%(n)s minute", "%(n)s minutes", minutes, n=minutes)


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 6 else 0


@router.get("/account/sessions")
async def sessions_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    return await _page(request, session, user)


@router.post("/account/sessions/{session_id}/end")
async def end_session(
    request: Request, session: SessionDep, user: UserDep, session_id: RowId
) -> Response:
    if session_id == getattr(request.state, "session_id", None):
        await sign_out(request, session)  # ending this device's session is signing out
        return RedirectResponse("/login", status_code=303)
    await user_sessions.end_one(session, user_id=user.id, session_id=session_id)
    return RedirectResponse("/account/sessions?ended=1", status_code=303)


@router.post("/account/sessions/end-others")
async def end_other_sessions(request: Request, session: SessionDep, user: UserDep) -> Response:
    ended = await user_sessions.end_all(
        session, user_id=user.id, except_id=getattr(request.state, "session_id", None)
    )
    return RedirectResponse(f"/account/sessions?ended={ended}", status_code=303)


@router.post("/account/password")
async def change_password(
    request: Request,
    session: SessionDep,
    user: UserDep,
    lang: LangDep,
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
    again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        await reserve_password_check(request, account=_account(user))
    except RateLimited as exc:
        response = await _page(
            request, session, user, error=gettext(lang, exc.message, **exc.params), status_code=429
        )
        response.headers["retry-after"] = str(exc.retry_after)
        return response
    try:
        await users.change_own_password(session, user=user, current=current, new=new, again=again)
    except Invalid as exc:
        errors = {name: gettext(lang, msg) for name, msg in exc.fields.items()}
        if "current" not in errors:  # the password was right: not a guess to count
            await throttle.attempt_succeeded(session, account=_account(user), ip=client_ip(request))
        return await _page(
            request,
            session,
            user,
            errors=errors,
            error=gettext(lang, exc.message),
            status_code=400 if "current" in errors else 422,
        )
    await throttle.attempt_succeeded(session, account=_account(user), ip=client_ip(request))
    # Every session of the user ended with the old password; this device gets a new one.
    await sign_in(request, session, user)
    return RedirectResponse("/account/sessions?changed=1", status_code=303)


@router.post("/account/notifications")
async def set_notifications(
    session: SessionDep,
    user: UserDep,
    notify_via: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """How this person hears about their bugs (status changes, replies)."""
    await users.set_notify_via(session, user_id=user.id, channel=notify_via)
    return RedirectResponse("/account/sessions?notify=1#notifications", status_code=303)
