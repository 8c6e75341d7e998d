"""The support hub as a Telegram Mini App: ``/tg/app`` and its sign-in ``/tg/auth``.

``/tg/app`` is what the bot's menu button and "Open support hub" button open. Its
script sends ``Telegram.WebApp.initData`` (or, without Telegram's script, the
``tgWebAppData`` of the address's fragment) to ``/tg/auth``, which checks it
(:mod:`devops_center.users.telegram_webapp`) and starts the normal web session; then
the hub's own pages show, in Telegram's colours (``in_telegram``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from devops_center.errors import Forbidden
from devops_center.i18n import gettext, lazy
from devops_center.users import telegram_webapp
from devops_center.web.deps import (
    CurrentUser,
    LangDep,
    SessionDep,
    SettingsDep,
    prepare_page,
    sign_in,
)
from devops_center.web.templating import IN_TELEGRAM_COOKIE, render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


class TelegramAuth(BaseModel):
    init_data: str = Field(max_length=telegram_webapp.MAX_INIT_DATA)


def _mark(response: Response, secure: bool) -> Response:
    """Pages of this browser show in Telegram's colours from now on."""
    response.set_cookie(
        IN_TELEGRAM_COOKIE,
        "1",
        max_age=30 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    return response


@router.get("/tg/app")
async def mini_app(request: Request) -> Response:
    # Telegram's look for this page only: the browser is marked as Telegram's by a
    # successful /tg/auth, so a visit from an ordinary browser keeps the site's menu.
    request.state.in_telegram = True
    return render(request, "tg/app.html")


@router.post("/tg/auth")
async def telegram_auth(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangDep,
    current: CurrentUser,
    body: TelegramAuth,
) -> Response:
    token = settings.telegram_bot_token
    try:
        if token is None:
            raise Forbidden(lazy("Sign-in from Telegram is not set up on this hub."))
        user = await telegram_webapp.sign_in(
            session,
            body.init_data,
            bot_token=token.get_secret_value(),
            max_age=settings.telegram_initdata_max_age,
            superadmin_ids=settings.superadmin_ids,
            current=current,
        )
    except (telegram_webapp.InitDataError, Forbidden) as exc:
        return JSONResponse({"detail": gettext(lang, exc.message)}, status_code=401)
    if user is not None:
        await sign_in(request, session, user)
    who = user or current
    name = who.name if who is not None else ""
    return _mark(
        JSONResponse({"ok": True, "name": name, "next": "/support"}), settings.secure_cookies
    )
