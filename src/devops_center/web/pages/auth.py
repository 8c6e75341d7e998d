"""Sign-in, sign-out, language choice, and the bot's single-use sign-in links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.errors import Forbidden, RateLimited
from devops_center.i18n import SUPPORTED, gettext
from devops_center.users import service as users
from devops_center.users import signin, throttle
from devops_center.web.deps import (
    CurrentUser,
    LangDep,
    SessionDep,
    SettingsDep,
    client_ip,
    prepare_page,
    reserve_password_check,
    sign_in,
    sign_out,
)
from devops_center.web.session_cookie import LANGUAGE_COOKIE
from devops_center.web.templating import render, safe_next

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


@router.get("/")
async def index(user: CurrentUser) -> Response:
    return RedirectResponse("/support" if user else "/login", status_code=303)


@router.get("/login")
async def login_form(request: Request, user: CurrentUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "email": ""})


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    lang: LangDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    target = safe_next(next)
    account = users.normalize_email(email)
    try:
        await reserve_password_check(request, account=account)
    except RateLimited as exc:
        return render(
            request,
            "login.html",
            {"next": target, "email": email, "error": gettext(lang, exc.message, **exc.params)},
            status_code=429,
            headers={"retry-after": str(exc.retry_after)},
        )
    user = await signin.authenticate(session, email=email, password=password)
    if user is None:
        return render(
            request,
            "login.html",
            {"next": target, "email": email, "error": gettext(lang, "Wrong email or password.")},
            status_code=400,
        )
    await throttle.attempt_succeeded(session, account=account, ip=client_ip(request))
    await sign_in(request, session, user)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    await sign_out(request, session)
    return RedirectResponse("/login", status_code=303)


@router.get("/auth/link/{token}")
async def redeem_link(request: Request, session: SessionDep, token: str) -> Response:
    """The bot's /web: a single-use link that signs its Telegram user in."""
    try:
        user = await signin.redeem_login_link(session, token=token[:200])
    except Forbidden as exc:
        lang = request.state.lang
        return render(
            request,
            "error.html",
            {
                "status_code": 403,
                "title": gettext(lang, "Access denied"),
                "message": gettext(lang, exc.message),
            },
            status_code=403,
        )
    await sign_in(request, session, user)
    return RedirectResponse("/support", status_code=303)


@router.post("/language")
async def set_language(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    language: Annotated[str, Form(max_length=5)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in SUPPORTED:
        # The browser's choice, kept for anonymous visitors and after signing out.
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )
        if user is not None:
            await users.set_language(session, user_id=user.id, language=language)
    return response
