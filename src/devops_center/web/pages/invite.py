"""/invite/<token>: the page of an email invitation — choose a name and a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.errors import Conflict, Forbidden, Invalid
from devops_center.i18n import gettext
from devops_center.users import team
from devops_center.web.deps import LangDep, SessionDep, client_ip, prepare_page, sign_in
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


def _refused(request: Request, lang: str, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status_code": 403, "title": gettext(lang, "Access denied"), "message": message},
        status_code=403,
        headers={"cache-control": "no-store"},
    )


@router.get("/invite/{token}")
async def invite_form(request: Request, session: SessionDep, lang: LangDep, token: str) -> Response:
    try:
        invite = await team.open_invite(session, token=token, channel="email")
    except Forbidden as exc:
        return _refused(request, lang, gettext(lang, exc.message))
    context = {"invite": invite, "token": token, "values": {"name": invite.name or ""}}
    context["role_names"] = team.ROLE_NAMES
    return render(request, "invite.html", {**context, "errors": {}})


@router.post("/invite/{token}")
async def accept_invite(
    request: Request,
    session: SessionDep,
    lang: LangDep,
    token: str,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        user = await team.accept_email_invite(
            session, token=token, name=name, password=password, again=again,
            language=lang, ip=client_ip(request),
        )  # fmt: skip
    except Forbidden as exc:
        return _refused(request, lang, gettext(lang, exc.message))
    except (Invalid, Conflict) as exc:
        invite = await team.open_invite(session, token=token, channel="email")
        fields = exc.fields if isinstance(exc, Invalid) else {"name": exc.message}
        errors = {k: gettext(lang, v) for k, v in fields.items()}
        context = {"invite": invite, "token": token, "values": {"name": name}, "errors": errors}
        context["role_names"] = team.ROLE_NAMES
        return render(request, "invite.html", context, status_code=422)
    await sign_in(request, session, user)
    return RedirectResponse("/support", status_code=303)
