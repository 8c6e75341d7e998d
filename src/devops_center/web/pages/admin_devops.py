"""``/admin/devops``: the DevOps dashboard (owner and superadmin).

DORA cards with level, change against the previous window and a weekly chart; the
deployment statistics and latest deployments; open incidents; critical bugs; and two
panels (system status, GitHub issues) that their own features serve and htmx loads.
Everything but the charts renders without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.deployments import service as deployments
from devops_center.dora import presenter
from devops_center.dora import service as dora
from devops_center.github import breakdown
from devops_center.incidents import service as incidents
from devops_center.support import service as support
from devops_center.web.deps import ReaderDep, SessionDep, SettingsDep, prepare_page, reads_only
from devops_center.web.pages.admin_deployments import status_names
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


def clean_choice(value: str | None, choices: list[str]) -> str | None:
    return value if value in choices else None


async def _filters(
    session: AsyncSession, service: str | None, environment: str | None
) -> dict[str, Any]:
    """The pickers' choices and the chosen service (None = all) and environment."""
    known = await deployments.names(session)
    env_names = known.environments or ["production"]
    if "production" not in env_names:
        env_names = ["production", *env_names]
    return {
        "services": known.services,
        "environments": env_names,
        "service": clean_choice(service, known.services),
        "environment": clean_choice(environment, env_names) or "production",
    }


async def _panels(
    session: AsyncSession, *, service: str | None, environment: str
) -> dict[str, Any]:
    """Latest deployments, open incidents and critical bugs beside the figures."""
    open_incidents, open_total = await incidents.recent(
        session, open_only=True, limit=10, environment=environment, service=service
    )
    critical, critical_total = await support.critical_open_bugs(session, limit=5)
    return {
        "recent": await deployments.latest(
            session, limit=10, environment=environment, service=service
        ),
        "open_incidents": open_incidents,
        "open_total": open_total,
        "critical": critical,
        "critical_total": critical_total,
    }


@router.get("/admin/devops")
@reads_only
async def devops_dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: ReaderDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    service: Annotated[str | None, Query(max_length=100)] = None,
    environment: Annotated[str | None, Query(max_length=50)] = None,
) -> Response:
    lang: str = request.state.lang
    chosen = await _filters(session, service, environment)
    where = {"environment": chosen["environment"], "service": chosen["service"]}
    report = await dora.dora_report(
        session, days=days, tz=settings.timezone, cfr_mode=settings.cfr_mode, **where
    )
    panels = await _panels(session, **where)
    stages = await breakdown.lead_time_breakdown(
        session, days=days, repo=settings.github_repo, tz=settings.timezone, **where
    )
    return render(
        request,
        "admin/devops.html",
        {
            **chosen,
            **panels,
            **presenter.dashboard(report, lang),
            "breakdown": stages,
            "status_names": status_names(lang),
            "duration": lambda s: presenter.duration(float(s), lang) if s is not None else "—",
        },
    )
