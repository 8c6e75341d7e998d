"""/admin/audit: who changed what, when and from where (owners and superadmins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from devops_center.users import auditlog
from devops_center.users import presenter as audit_presenter
from devops_center.web.deps import AdminDep, LangDep, SessionDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


@router.get("/admin/audit")
async def audit_page(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    entity: Annotated[str, Query(max_length=50)] = "",
    before: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    entries = await auditlog.entries(
        session, entity=entity or None, before_id=before, limit=auditlog.PAGE + 1
    )
    rows = [
        {
            "entry": e,
            "action": audit_presenter.action(e, lang),
            "target": audit_presenter.entity(e, lang),
            "details": audit_presenter.details(e),
        }
        for e in entries[: auditlog.PAGE]
    ]
    older = entries[auditlog.PAGE - 1].id if len(entries) > auditlog.PAGE else None
    return render(
        request,
        "admin/audit.html",
        {
            "rows": rows,
            "entity": entity,
            "entities": await auditlog.entities(session),
            "older": older,
        },
    )
