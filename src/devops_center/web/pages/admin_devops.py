"""``/admin/devops``: the DevOps dashboard (owner and superadmin).

DORA cards with level, change against the previous window and a weekly chart; the
deployment statistics and latest deployments; open incidents; critical bugs; and two
panels (system status, GitHub issues) that their own features serve and htmx loads.
Everything but the charts renders without JavaScript.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from devops_center import i18n
from devops_center.deployments import service as deployments
from devops_center.dora import format as fmt
from devops_center.dora import service as dora
from devops_center.incidents import service as incidents
from devops_center.support import service as support
from devops_center.web.deps import AdminDep, SessionDep, SettingsDep, prepare_page
from devops_center.web.pages.admin_deployments import status_names
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


def clean_choice(value: str | None, choices: list[str]) -> str | None:
    return value if value in choices else None


def cards(report: dora.DoraReport, lang: str) -> list[dict[str, Any]]:
    out = []
    for metric in report.metrics:
        p90 = metric.extra.get("p90")
        out.append(
            {
                "key": metric.key,
                "title": fmt.title(metric, lang),
                "value": fmt.metric_value(metric, lang),
                "level": metric.level,
                "level_text": fmt.level_text(metric.level, lang),
                "delta": fmt.delta_text(metric, lang),
                "trend": metric.trend,
                "trend_text": fmt.trend_text(metric.trend, lang),
                "previous": fmt.value_text(metric.key, metric.unit, metric.previous, lang),
                "label": fmt.label_text(metric.label, lang),
                "sample_size": metric.sample_size,
                "extra": metric.extra,
                "p90": (
                    fmt.duration(float(p90), lang)
                    if metric.unit == "seconds" and p90 is not None
                    else None
                ),
            }
        )
    return out


def chart_data(report: dora.DoraReport, lang: str) -> str:
    """The weekly series for dora.js, as JSON for a ``<script type="application/json">``."""
    axes = {
        "per_day": i18n.gettext(lang, "per day"),
        "percent": "%",
        "seconds": i18n.gettext(lang, "hours"),
    }
    data = {
        "weeks": report.weeks,
        "metrics": {
            m.key: {
                "title": fmt.title(m, lang),
                "unit": m.unit,
                "values": [
                    None if v is None else (round(v / 3600, 2) if m.unit == "seconds" else v)
                    for _w, v in m.weekly
                ],
                "axis": axes.get(m.unit, ""),
            }
            for m in report.metrics
        },
    }
    # "</" can't end the script element early: JSON allows the escaped form.
    return json.dumps(data).replace("</", "<\\/")


@router.get("/admin/devops")
async def devops_dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    service: Annotated[str | None, Query(max_length=100)] = None,
    environment: Annotated[str | None, Query(max_length=50)] = None,
) -> Response:
    lang: str = request.state.lang
    known = await deployments.names(session)
    service_names = known.services
    env_names = known.environments or ["production"]
    if "production" not in env_names:
        env_names = ["production", *env_names]
    chosen_service = clean_choice(service, service_names)
    chosen_env = clean_choice(environment, env_names) or "production"
    report = await dora.cached_report(
        session,
        days=days,
        environment=chosen_env,
        service=chosen_service,
        tz=settings.timezone,
    )
    recent = await deployments.latest(
        session, limit=10, environment=chosen_env, service=chosen_service
    )
    open_incidents, open_total = await incidents.recent(
        session, open_only=True, limit=10, environment=chosen_env, service=chosen_service
    )
    critical, critical_total = await support.critical_open_bugs(session, limit=5)
    return render(
        request,
        "admin/devops.html",
        {
            "report": report,
            "cards": cards(report, lang),
            "chart_json": chart_data(report, lang),
            "windows": sorted({*dora.WINDOWS, report.days}),
            "services": service_names,
            "environments": env_names,
            "service": chosen_service,
            "environment": chosen_env,
            "recent": recent,
            "open_incidents": open_incidents,
            "open_total": open_total,
            "critical": critical,
            "critical_total": critical_total,
            "status_names": status_names(lang),
            "duration": lambda s: fmt.duration(float(s), lang) if s is not None else "—",
        },
    )
