"""The support brain for owners: what it could not answer (/admin/faq/gaps); on a bug's
triage page, its public summary and the merge of a duplicate into its original."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.brain import insights
from devops_center.support import bugs, duplicates
from devops_center.web.deps import AdminDep, RowId, SessionDep, SettingsDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


@router.get("/admin/faq/gaps")
async def faq_gaps(
    request: Request, session: SessionDep, settings: SettingsDep, admin: AdminDep, days: int = 90
) -> Response:
    days = max(1, min(days, 365))
    groups = await insights.gaps(session, days=days, model=settings.embedding_model)
    return render(request, "admin/faq_gaps.html", {"gaps": groups, "days": days})


@router.post("/admin/bugs/{bug_id}/summary")
async def bug_summary(
    session: SessionDep,
    admin: AdminDep,
    bug_id: RowId,
    public_summary: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    await bugs.set_public_summary(session, bug_id=bug_id, summary=public_summary, actor_id=admin.id)
    return RedirectResponse(f"/admin/bugs/{bug_id}?saved=1", status_code=303)


@router.post("/admin/bugs/{bug_id}/merge")
async def bug_merge(
    session: SessionDep,
    admin: AdminDep,
    bug_id: RowId,
    original: Annotated[int, Form(ge=1, lt=2**31)],
    score: Annotated[float | None, Form(ge=0, le=1)] = None,
) -> Response:
    await duplicates.merge(
        session, bug_id=bug_id, original_id=original, actor_id=admin.id, score=score
    )
    return RedirectResponse(f"/admin/bugs/{bug_id}?saved=1", status_code=303)
