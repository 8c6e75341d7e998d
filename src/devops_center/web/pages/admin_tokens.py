"""API tokens for owners and superadmins: create (shown once), list, revoke.

Thin: ``api_tokens.create_token`` / ``list_tokens`` / ``revoke_token``, the calls of
``dcc tokens``. A token made for a user acts as that user (within the user's role);
one without is an integration.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.db import utcnow
from devops_center.errors import Invalid
from devops_center.i18n import gettext
from devops_center.users import service as users
from devops_center.users import tokens as api_tokens
from devops_center.users.access import SCOPES, role_scopes
from devops_center.web.deps import AdminDep, LangDep, RowId, SessionDep, client_ip, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

EXPIRY_DAYS = ("", "30", "90", "365")


async def _page(
    request: Request,
    session: SessionDep,
    *,
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    created: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    tokens = await api_tokens.list_tokens(session)
    people = {u.id: u for u in await users.list_users(session)}
    response = render(
        request,
        "admin/tokens.html",
        {
            "tokens": tokens,
            "people": people,
            "scopes": SCOPES,
            "member_scopes": sorted(role_scopes("employee")),
            "expiry_days": EXPIRY_DAYS,
            "values": values or {"scopes": [], "expires_days": "90"},
            "errors": errors or {},
            "created": created,
            "revoked": request.query_params.get("revoked") == "1",
            "now": utcnow(),
        },
        status_code=status_code,
    )
    if created:  # the token's only showing: never kept by a cache or the back button
        response.headers["cache-control"] = "no-store"
    return response


@router.get("/admin/tokens")
async def tokens_page(request: Request, session: SessionDep, admin: AdminDep) -> Response:
    return await _page(request, session)


@router.post("/admin/tokens")
async def create_token(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    name: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[list[str] | None, Form(max_length=40)] = None,
    user_email: Annotated[str, Form(max_length=254)] = "",
    expires_days: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    values: dict[str, object] = {
        "name": name,
        "scopes": scope or [],
        "user_email": user_email,
        "expires_days": expires_days,
    }
    try:
        user_id = (
            await api_tokens.active_user_id(session, email=user_email)
            if user_email.strip()
            else None
        )
        days = int(expires_days) if expires_days in EXPIRY_DAYS and expires_days else None
        row, plaintext = await api_tokens.create_token(
            session,
            name=name,
            scopes=scope or [],
            user_id=user_id,
            expires_at=utcnow() + timedelta(days=days) if days else None,
            actor_id=admin.id,
            ip=client_ip(request),
        )
    except Invalid as exc:
        errors = {k: gettext(lang, v) for k, v in exc.fields.items()}
        return await _page(request, session, values=values, errors=errors, status_code=422)
    return await _page(request, session, created=(row.name, plaintext), status_code=201)


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, session: SessionDep, admin: AdminDep, token_id: RowId
) -> Response:
    await api_tokens.revoke_token(
        session, token_id=token_id, actor_id=admin.id, ip=client_ip(request)
    )
    return RedirectResponse("/admin/tokens?revoked=1", status_code=303)
