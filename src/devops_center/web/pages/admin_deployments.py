"""``/admin/deployments`` (list, filters, pages; one deployment with its commits) and
``/admin/incidents`` (open by hand, resolve). Owner and superadmin only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import i18n
from devops_center.config import Settings
from devops_center.db import Page
from devops_center.deployments import queries as deployment_queries
from devops_center.deployments import service as deployments
from devops_center.deployments.models import DEPLOY_STATUSES, Deployment
from devops_center.dora import presenter
from devops_center.errors import Invalid
from devops_center.incidents import service as incidents
from devops_center.web.deps import AdminDep, ReaderDep, RowId, SessionDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

PER_PAGE = 25
STATUS_NAMES = {
    "in_progress": i18n.lazy("in progress"),
    "success": i18n.lazy("success"),
    "failed": i18n.lazy("failed"),
    "rolled_back": i18n.lazy("rolled back"),
}


SORT_NAMES = {
    "newest": i18n.lazy("Newest first"),
    "oldest": i18n.lazy("Oldest first"),
    "slowest": i18n.lazy("Longest first"),
    "service": i18n.lazy("By service"),
}


def _local_midnight(day: date, settings: Settings) -> datetime:
    return datetime.combine(day, time(0), tzinfo=settings.tz).astimezone(UTC)


def status_names(lang: str) -> dict[str, str]:
    return {k: i18n.gettext(lang, v) for k, v in STATUS_NAMES.items()}


def _duration(lang: str) -> Any:
    return lambda s: presenter.duration(float(s), lang) if s is not None else "—"


def _page_url(filters: dict[str, str | None]) -> Callable[[int], str]:
    """The address of page n of the list, with the filters it is shown with."""
    shown = {k: v for k, v in filters.items() if v}
    return lambda n: "/admin/deployments?" + urlencode({**shown, "page": n})


async def _listing(
    session: AsyncSession,
    settings: Settings,
    filters: dict[str, str | None],
    date_from: date | None,
    date_to: date | None,
    page: int,
) -> Page[Deployment]:
    """One page of the list with its (already cleaned) filters; dates are whole days in
    DCC_TIMEZONE, "to" included."""
    return await deployments.list_deployments(
        session,
        service=filters["service"],
        environment=filters["environment"],
        status=filters["status"],
        since=_local_midnight(date_from, settings) if date_from else None,
        until=_local_midnight(date_to + timedelta(days=1), settings) if date_to else None,
        sort=filters["sort"] or "newest",
        page=page,
        per_page=PER_PAGE,
    )


@router.get("/admin/deployments")
async def deployment_list(
    request: Request,
    session: SessionDep,
    admin: ReaderDep,
    service: Annotated[str | None, Query(max_length=100)] = None,
    environment: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    sort: Annotated[str, Query(max_length=20)] = "newest",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    lang, settings = request.state.lang, request.app.state.settings
    if date_from and date_to and date_to < date_from:
        date_from, date_to = date_to, date_from  # a range typed backwards is still a range
    known = await deployments.names(session)
    filters = {
        "service": service if service in known.services else None,
        "environment": environment if environment in known.environments else None,
        "status": status if status in DEPLOY_STATUSES else None,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "sort": sort if sort in deployment_queries.SORTS and sort != "newest" else None,
    }
    result = await _listing(session, settings, filters, date_from, date_to, page)
    return render(
        request,
        "admin/deployments.html",
        {
            "result": result,
            "recent": result.items,
            "services": known.services,
            "environments": known.environments,
            "statuses": DEPLOY_STATUSES,
            "status_names": status_names(lang),
            **filters,
            "sort": filters["sort"] or "newest",
            "sorts": SORT_NAMES,
            "page_url": _page_url(filters),
            "duration": _duration(lang),
        },
    )


@router.get("/admin/deployments/{deployment_id}")
async def deployment_detail(
    request: Request, deployment_id: RowId, session: SessionDep, admin: ReaderDep
) -> Response:
    lang: str = request.state.lang
    deployment = await deployments.get_deployment(session, deployment_id=deployment_id)
    commits = await deployments.list_commits(session, deployment_id=deployment_id)
    lead_times = {
        c.id: presenter.duration((deployment.completed_at - c.committed_at).total_seconds(), lang)
        for c in commits
        if deployment.completed_at is not None and deployment.completed_at >= c.committed_at
    }
    return render(
        request,
        "admin/deployment.html",
        {
            "d": deployment,
            "commits": commits,
            "lead_times": lead_times,
            "status_names": status_names(lang),
            "duration": _duration(lang),
        },
    )


async def _incidents_page(
    request: Request,
    session: SessionDep,
    *,
    page: int = 1,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    items, total = await incidents.recent(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    open_items, open_total = await incidents.recent(session, open_only=True, limit=100)
    lang: str = request.state.lang
    pages = max(1, -(-total // PER_PAGE))
    return render(
        request,
        "admin/incidents.html",
        {
            "items": items,
            "total": total,
            "open_items": open_items,
            "open_total": open_total,
            "page": page,
            "pages": pages,
            "errors": {k: i18n.gettext(lang, v) for k, v in (errors or {}).items()},
            "form": form or {},
            "severities": incidents.SEVERITIES,
            "services": (await deployments.names(session)).services,
        },
        status_code=status_code,
    )


@router.get("/admin/incidents")
async def incident_list(
    request: Request,
    session: SessionDep,
    admin: ReaderDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return await _incidents_page(request, session, page=page)


@router.post("/admin/incidents")
async def incident_open(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    title: Annotated[str, Form(max_length=2000)] = "",
    service: Annotated[str, Form(max_length=200)] = "",
    environment: Annotated[str, Form(max_length=200)] = "production",
    severity: Annotated[str, Form(max_length=20)] = "high",
    description: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    try:
        await incidents.open_manual(
            session,
            title=title,
            user_id=admin.id,
            service=service,
            environment=environment,
            severity=severity,
            description=description,
        )
    except Invalid as exc:
        form = {
            "title": title,
            "service": service,
            "environment": environment,
            "severity": severity,
            "description": description,
        }
        return await _incidents_page(
            request, session, errors=exc.fields, form=form, status_code=422
        )
    return RedirectResponse("/admin/incidents", status_code=303)


@router.post("/admin/incidents/{incident_id}/resolve")
async def incident_resolve(incident_id: RowId, session: SessionDep, admin: AdminDep) -> Response:
    await incidents.close(session, incident_id=incident_id, user_id=admin.id)
    return RedirectResponse("/admin/incidents", status_code=303)
