"""Bug triage: owners and superadmins filter and set status / priority / assignee;
managers read it (the list, a bug with its report and screenshot), change nothing."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.brain.duplicates import likely as likely_duplicates
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import gettext, lazy
from devops_center.support import duplicates
from devops_center.support import service as support
from devops_center.support.models import PRIORITIES, STATUSES, BugLog
from devops_center.users import service as users
from devops_center.web.deps import (
    AdminDep,
    LangDep,
    ReaderDep,
    RowId,
    SessionDep,
    SettingsDep,
    prepare_page,
)
from devops_center.web.pages.support_home import screenshot_response
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


def _bug_filter(status: str, priority: str, assignee: str, q: str) -> support.BugFilter:
    """The list's filters from the address: an unknown value shows every bug."""
    return support.BugFilter(
        status=status if status in STATUSES else None,
        priority=priority if priority in PRIORITIES else None,
        assignee=_int(assignee),
        text=q[:200] or None,
    )


@router.get("/admin/bugs")
async def bug_list(
    request: Request,
    session: SessionDep,
    admin: ReaderDep,
    status: str = "",
    priority: str = "",
    assignee: str = "",
    q: str = "",
    page: int = 1,
    sort: str = "",
) -> Response:
    page = max(1, min(page, 10_000))
    sort = sort if sort in support.SORTS else "newest"
    filters = _bug_filter(status, priority, assignee, q)
    bugs, total = await support.list_bugs(
        session, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, sort=sort
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
            "f": {
                "status": status,
                "priority": priority,
                "assignee": assignee,
                "q": q[:200],
                "sort": sort,
            },
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
    model = request.app.state.settings.embedding_model
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
            "duplicates": await likely_duplicates(session, bug_id, model=model),
            "original": await duplicates.original_of(session, bug_id),
            "comments": len(
                await support.list_comments(session, bug_id=bug_id, viewer_id=None, team=True)
            ),
        },
        status_code=status_code,
    )


@router.get("/admin/bugs/{bug_id}")
async def bug_detail(
    request: Request, session: SessionDep, admin: ReaderDep, bug_id: RowId, saved: int = 0
) -> Response:
    return await _detail(request, session, bug_id, saved=bool(saved))


@router.get("/admin/bugs/{bug_id}/screenshot")
async def bug_screenshot(
    session: SessionDep, settings: SettingsDep, reader: ReaderDep, bug_id: RowId
) -> Response:
    bug = await session.get(BugLog, bug_id)
    if bug is None:
        raise NotFound(lazy("No such bug report"))
    return screenshot_response(settings, bug)


@router.post("/admin/bugs/{bug_id}")
async def bug_update(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    bug_id: RowId,
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
