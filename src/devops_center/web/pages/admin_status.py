"""System status pages: ``/admin/status`` and the panel fragment ``/admin/devops`` loads.

Thin: every figure comes from :mod:`devops_center.status.service` (the running processes
from :mod:`devops_center.processes.service`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.errors import Invalid
from devops_center.i18n import gettext
from devops_center.processes import service as processes
from devops_center.status import service as status
from devops_center.web.deps import (
    AdminDep,
    LangDep,
    ReaderDep,
    SessionDep,
    SettingsDep,
    prepare_page,
)
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

# range → (length, bucket seconds): ~150–300 points per chart
RANGES: dict[str, tuple[timedelta, int]] = {
    "24h": (timedelta(hours=24), 300),
    "7d": (timedelta(days=7), 3600),
    "30d": (timedelta(days=30), 4 * 3600),
}


async def _page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    range: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = utcnow()
    length, bucket = RANGES[range]
    views = await status.current_states(session, settings, now=now)
    checks: list[dict[str, Any]] = []
    for view in views:
        points = await status.response_series(
            session,
            name=view.name,
            since=now - length,
            until=now,
            bucket_seconds=bucket,
            use_rollups=length > status.RAW_RETENTION,
        )
        series = [
            [
                int(p.at.timestamp() * 1000),
                p.avg_ms,
                round(p.ups / p.samples * 100, 2) if p.samples else None,
            ]
            for p in points
        ]
        checks.append(
            {
                "view": view,
                "series": series,
                "incidents": await status.check_incidents(session, name=view.name),
            }
        )
    windows = [w for w in await status.all_windows(session, settings) if w.ends_at > now]
    local_now = now.astimezone(settings.tz).replace(second=0, microsecond=0, tzinfo=None)
    default_form = {
        "starts_at": local_now.isoformat(timespec="minutes"),
        "ends_at": (local_now + timedelta(hours=1)).isoformat(timespec="minutes"),
        "checks": [],
        "note": "",
    }
    return render(
        request,
        "admin/status.html",
        {
            "checks": checks,
            "current": range,
            "ranges": list(RANGES),
            "windows": sorted(windows, key=lambda w: w.starts_at),
            "form": form or default_form,
            "errors": errors or {},
            "timezone": settings.timezone,
            "processes": await processes.alive(session, now=now),
            "alive_within": int(processes.ALIVE_WITHIN.total_seconds()),
        },
        status_code=status_code,
    )


@router.get("/admin/status")
async def status_page(
    request: Request,
    user: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    range: Literal["24h", "7d", "30d"] = "24h",
) -> Response:
    return await _page(request, session, settings, range)


@router.post("/admin/status/maintenance")
async def add_maintenance(
    request: Request,
    user: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangDep,
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
    checks: Annotated[list[str] | None, Form(max_length=100)] = None,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        await status.add_window(
            session,
            settings=settings,
            starts_at=starts_at,
            ends_at=ends_at,
            checks=checks or [],
            note=note,
        )
    except Invalid as exc:
        errors = {k: gettext(lang, v) for k, v in exc.fields.items()}
        errors["form"] = gettext(lang, exc.message)
        form = {"starts_at": starts_at, "ends_at": ends_at, "checks": checks or [], "note": note}
        return await _page(
            request, session, settings, "24h", form=form, errors=errors, status_code=422
        )
    return RedirectResponse("/admin/status#maintenance", status_code=303)


@router.post("/admin/status/maintenance/{window_id}/delete")
async def delete_maintenance(
    user: AdminDep, session: SessionDep, window_id: Annotated[str, Path(max_length=40)]
) -> Response:
    await status.remove_window(session, window_id=window_id)
    return RedirectResponse("/admin/status#maintenance", status_code=303)


@router.get("/admin/status/panel")
async def status_panel(
    request: Request, user: ReaderDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """An HTML fragment (no layout) for htmx: ``hx-get`` it into any admin page."""
    views = await status.current_states(session, settings)
    return render(
        request,
        "admin/_status_panel.html",
        {"views": views},
        headers={"cache-control": "no-store"},
    )
