"""/admin/users: the team for owners and superadmins — invite, change roles, deactivate,
link a GitHub login (their pull requests become theirs in the changelog).

Thin: ``team.create_invite`` / ``revoke_invite`` and ``users.set_role`` /
``set_active`` / ``set_github_login``, the functions ``dcc users`` and the JSON API
call. A role change or a deactivation ends the user's sessions at once; the last owner
stays an owner.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.config import ROLES
from devops_center.errors import Conflict, Invalid
from devops_center.i18n import gettext
from devops_center.notify import links
from devops_center.users import service as users
from devops_center.users import team
from devops_center.users import tokens as api_tokens
from devops_center.web.deps import (
    AdminDep,
    LangDep,
    RowId,
    SessionDep,
    SettingsDep,
    client_ip,
    prepare_page,
)
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


async def _page(
    request: Request,
    session: SessionDep,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    invited: dict[str, str | None] | None = None,
    status_code: int = 200,
) -> Response:
    members = await users.list_users(session)
    response = render(
        request,
        "admin/users.html",
        {
            "members": [
                m for m in members if not (m.email or "").endswith(api_tokens.INTEGRATION_DOMAIN)
            ],
            "people": {m.id: m for m in members},
            "invites": await team.pending_invites(session),
            "roles": ROLES,
            "role_names": team.ROLE_NAMES,
            "values": values or {"channel": "email", "role": "employee"},
            "errors": errors or {},
            "error": error,
            "invited": invited,
            "notice": request.query_params.get("done") if invited is None else None,
        },
        status_code=status_code,
    )
    if invited:  # the link is shown once
        response.headers["cache-control"] = "no-store"
    return response


@router.get("/admin/users")
async def users_page(request: Request, session: SessionDep, admin: AdminDep) -> Response:
    return await _page(request, session)


@router.post("/admin/users/invite")
async def invite(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    lang: LangDep,
    channel: Annotated[str, Form(max_length=10)] = "email",
    role: Annotated[str, Form(max_length=20)] = "employee",
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"channel": channel, "role": role, "email": email, "name": name}
    try:
        row, token = await team.create_invite(
            session, channel=channel, role=role, email=email, name=name,
            actor_id=admin.id, ip=client_ip(request),
        )  # fmt: skip
    except Invalid as exc:
        errors = {k: gettext(lang, v) for k, v in exc.fields.items()}
        return await _page(request, session, values=values, errors=errors, status_code=422)
    link = await links.invite_link(session, settings, channel=row.channel, token=token)
    shown = {"channel": row.channel, "role": row.role, "email": row.email, "link": link}
    return await _page(request, session, invited=shown, status_code=201)


@router.post("/admin/users/invites/{invite_id}/revoke")
async def revoke_invite(
    request: Request, session: SessionDep, admin: AdminDep, invite_id: RowId
) -> Response:
    await team.revoke_invite(session, invite_id=invite_id, actor_id=admin.id, ip=client_ip(request))
    return RedirectResponse("/admin/users?done=revoked", status_code=303)


@router.post("/admin/users/{user_id}/role")
async def change_role(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    user_id: RowId,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        await users.set_role(
            session, user_id=user_id, role=role, actor_id=admin.id, ip=client_ip(request)
        )
    except (Conflict, Invalid) as exc:
        return await _page(request, session, error=gettext(lang, exc.message), status_code=409)
    return RedirectResponse("/admin/users?done=role", status_code=303)


@router.post("/admin/users/{user_id}/active")
async def set_active(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    user_id: RowId,
    active: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    try:
        user = await users.set_active(
            session, user_id=user_id, active=active == "1", actor_id=admin.id, ip=client_ip(request)
        )
    except Conflict as exc:
        return await _page(request, session, error=gettext(lang, exc.message), status_code=409)
    done = "activated" if user.is_active else "deactivated"
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


@router.post("/admin/users/{user_id}/github")
async def set_github_login(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    user_id: RowId,
    github_login: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        await users.set_github_login(
            session, user_id=user_id, login=github_login, actor_id=admin.id, ip=client_ip(request)
        )
    except Invalid as exc:
        return await _page(request, session, error=gettext(lang, exc.message), status_code=422)
    return RedirectResponse("/admin/users?done=github", status_code=303)
