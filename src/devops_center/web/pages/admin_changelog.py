"""``/admin/changelog``: the journal of merged pull requests with filters and links to the
pull request, its issue and the deployment that shipped it; one entry's page, where an
owner writes the Russian and English line users read in "What's new"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.changelog import presenter
from devops_center.changelog import queries as changelog
from devops_center.changelog.rules import CHANGE_TYPES
from devops_center.digest.labels import issue_url
from devops_center.errors import Invalid
from devops_center.i18n import gettext
from devops_center.web.deps import AdminDep, RowId, SessionDep, SettingsDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

PER_PAGE = 30


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None  # a hand-edited address: the filter is dropped, the page still shows


def _page_url(filters: changelog.EntryFilter) -> Callable[[int], str]:
    """The address of page n of the list, with the filters it is shown with."""
    query = {
        k: v
        for k, v in {
            "component": filters.component,
            "type": filters.change_type,
            "status": filters.status,
            "date_from": filters.date_from.isoformat() if filters.date_from else None,
            "date_to": filters.date_to.isoformat() if filters.date_to else None,
        }.items()
        if v
    }
    return lambda n: "/admin/changelog?" + urlencode({**query, "page": n})


@router.get("/admin/changelog")
async def changelog_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    component: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    lang: str = request.state.lang
    start, end = _day(date_from), _day(date_to)
    if start and end and end < start:
        start, end = end, start
    filters = changelog.validate_filter(
        component=component,
        change_type=type if type in CHANGE_TYPES else None,
        status=status if status in changelog.STATUSES else None,
        date_from=start,
        date_to=end,
    )
    result = await changelog.list_entries(session, filters=filters, page=page, per_page=PER_PAGE)
    return render(
        request,
        "admin/changelog.html",
        {
            "result": result,
            "f": filters,
            "components": await changelog.components(session),
            "types": CHANGE_TYPES,
            "statuses": changelog.STATUSES,
            "type_names": presenter.type_names(lang),
            "status_names": presenter.status_names(lang),
            "issue_url": lambda n: issue_url(settings, n),
            "page_url": _page_url(filters),
        },
    )


async def _entry_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    entry_id: int,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    lang: str = request.state.lang
    entry = await changelog.get_entry(session, entry_id)
    return render(
        request,
        "admin/changelog_entry.html",
        {
            "e": entry,
            "type_names": presenter.type_names(lang),
            "status_names": presenter.status_names(lang),
            "issue_url": lambda n: issue_url(settings, n),
            "errors": {k: gettext(lang, v) for k, v in (errors or {}).items()},
            "form": form
            or {"user_line_ru": entry.user_line_ru or "", "user_line_en": entry.user_line_en or ""},
            "saved": saved,
        },
        status_code=status_code,
    )


@router.get("/admin/changelog/{entry_id}")
async def entry_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    entry_id: RowId,
    saved: int = 0,
) -> Response:
    return await _entry_page(request, session, settings, entry_id, saved=bool(saved))


@router.post("/admin/changelog/{entry_id}")
async def save_user_lines(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    entry_id: RowId,
    user_line_ru: Annotated[str, Form(max_length=2000)] = "",
    user_line_en: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        await changelog.set_user_lines(
            session, entry_id=entry_id, ru=user_line_ru, en=user_line_en, actor_id=admin.id
        )
    except Invalid as exc:  # refused before anything changed
        return await _entry_page(
            request,
            session,
            settings,
            entry_id,
            errors={k: str(v) for k, v in (exc.fields or {}).items()},
            form={"user_line_ru": user_line_ru, "user_line_en": user_line_en},
            status_code=422,
        )
    return RedirectResponse(f"/admin/changelog/{entry_id}?saved=1", status_code=303)
