"""System status pages: ``/admin/status`` and the panel fragment ``/admin/devops`` loads.

Thin: every figure comes from :mod:`devops_center.status.service`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from devops_center.db import utcnow
from devops_center.status import service as status
from devops_center.web.deps import AdminDep, SessionDep, SettingsDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

# range → (length, bucket seconds): ~150–300 points per chart
RANGES: dict[str, tuple[timedelta, int]] = {
    "24h": (timedelta(hours=24), 300),
    "7d": (timedelta(days=7), 3600),
    "30d": (timedelta(days=30), 4 * 3600),
}


@router.get("/admin/status")
async def status_page(
    request: Request,
    user: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    range: Literal["24h", "7d", "30d"] = "24h",
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
    windows = [w for w in status.maintenance_windows(settings) if w.ends_at > now]
    return render(
        request,
        "admin/status.html",
        {"checks": checks, "current": range, "ranges": list(RANGES), "windows": windows},
    )


@router.get("/admin/status/panel")
async def status_panel(
    request: Request, user: AdminDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """An HTML fragment (no layout) for htmx: ``hx-get`` it into any admin page."""
    views = await status.current_states(session, settings)
    return render(
        request,
        "admin/_status_panel.html",
        {"views": views},
        headers={"cache-control": "no-store"},
    )
