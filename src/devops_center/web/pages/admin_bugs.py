"""Bug triage for owners and superadmins: filter, set status / priority / assignee."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.errors import Invalid
from devops_center.i18n import gettext
from devops_center.support import service as support
from devops_center.support.models import PRIORITIES, STATUSES
from devops_center.users import service as users
from devops_center.web.deps import AdminDep, LangDep, SessionDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

PAGE_SIZE = 50


def _change(details: str | None) -> list[tuple[str, object, object]]:
    """(field, old, new) triples of an audit row's JSON details."""
    try:
        data = json.loads(details or "{}")
    except ValueError:
        return []
    return [
        (field, pair[0], pair[1])
        for field, pair in data.items()
        if isinstance(pair, list) and len(pair) == 2
    ]


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


@router.get("/admin/bugs")
async def bug_list(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    status: str = "",
    priority: str = "",
    assignee: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    page = max(1, min(page, 10_000))
    filters = support.BugFilter(
        status=status if status in STATUSES else None,
        priority=priority if priority in PRIORITIES else None,
        assignee=_int(assignee),
        text=q[:200] or None,
    )
    bugs, total = await support.list_bugs(
        session, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    people = {u.id: u for u in await users.list_users(session)}
    return render(
        request,
        "admin/bugs.html",
        {
            "bugs": bugs,
            "total": total,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "people": people,
            "admins": [u for u in people.values() if users.is_admin(u)],
            "f": {"status": status, "priority": priority, "assignee": assignee, "q": q[:200]},
            "statuses": STATUSES,
            "priorities": PRIORITIES,
        },
    )


async def _detail(
    request: Request,
    session: SessionDep,
    bug_id: int,
    *,
    error: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    bug = await support.get_bug(session, bug_id=bug_id)
    people = {u.id: u for u in await users.list_users(session)}
    rows = await support.bug_history(session, bug_id=bug_id)
    history = [_change(row.details) for row in rows]
    return render(
        request,
        "admin/bugs_detail.html",
        {
            "bug": bug,
            "people": people,
            "staff": [u for u in people.values() if u.is_active],
            "history": list(zip(rows, history, strict=True)),
            "statuses": STATUSES,
            "priorities": PRIORITIES,
            "error": error,
            "saved": saved,
        },
        status_code=status_code,
    )


@router.get("/admin/bugs/{bug_id}")
async def bug_detail(
    request: Request, session: SessionDep, admin: AdminDep, bug_id: int, saved: int = 0
) -> Response:
    return await _detail(request, session, bug_id, saved=bool(saved))


@router.post("/admin/bugs/{bug_id}")
async def bug_update(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    bug_id: int,
    status: Annotated[str, Form(max_length=20)] = "",
    priority: Annotated[str, Form(max_length=20)] = "",
    assignee: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    try:
        await support.update_bug(
            session,
            bug_id=bug_id,
            actor_id=admin.id,
            status=status or None,
            priority=priority or None,
            assigned_to=_int(assignee),
            set_assignee=True,
        )
    except Invalid as exc:
        return await _detail(
            request, session, bug_id, error=gettext(lang, exc.message), status_code=422
        )
    return RedirectResponse(f"/admin/bugs/{bug_id}?saved=1", status_code=303)
