"""``/api/v1/deployments`` (CI registers deployments) and ``/api/v1/metrics/dora``.

Thin: validation is the pydantic model, the work is ``deployments.service.record`` and
``dora.service.dora_report`` shown by ``dora.presenter`` (the same calls as the
dashboard, the bot and /metrics).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from devops_center.deployments import service as deployments
from devops_center.deployments.schemas import DeploymentIn, DeploymentOut
from devops_center.dora import presenter
from devops_center.dora import service as dora
from devops_center.github import breakdown
from devops_center.users.access import Caller
from devops_center.web.api.common import scope_doc
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import SessionDep, SettingsDep, reads_only, require_scope

router = APIRouter(prefix="/api/v1", tags=["deployments"])

# Empty values mean "all services" / "production" (``?service=&environment=`` works).
SERVICE_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9._/@-]{0,99})?$"
ENV_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9._/-]{0,49})?$"


AUTH_ERRORS: dict[int | str, dict[str, Any]] = problem_responses(*COMMON)


class DeploymentPage(BaseModel):
    items: list[DeploymentOut]
    total: int
    page: int
    per_page: int


Writer = Annotated[Caller, Depends(require_scope("deployments:write"))]
Reader = Annotated[Caller, Depends(require_scope("metrics:read", allow_admin_session=True))]


@router.post(
    "/deployments",
    response_model=DeploymentOut,
    status_code=201,
    responses={
        200: {"model": DeploymentOut, "description": "Updated (the external_id was known)"},
        201: {"model": DeploymentOut, "description": "Created"},
        **problem_responses(*COMMON, 413),
    },
    summary="Register or update a deployment (CI)",
    openapi_extra=scope_doc("deployments:write"),
)
async def post_deployment(
    body: DeploymentIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _who: Writer,
) -> DeploymentOut:
    """Upsert by ``external_id``: 201 the first time, 200 after. Scope ``deployments:write``.

    Without ``commits`` the worker asks GitHub for the commits between the previous
    successful deployment of the service and environment and this one."""
    out, created = await deployments.record_out(session, data=body, source="api", settings=settings)
    response.status_code = 201 if created else 200
    return out


@router.get(
    "/deployments",
    response_model=DeploymentPage,
    responses=AUTH_ERRORS,
    summary="Deployments, newest first",
    openapi_extra=scope_doc("metrics:read"),
)
async def get_deployments(
    session: SessionDep,
    _who: Reader,
    service: Annotated[str | None, Query(pattern=SERVICE_PATTERN)] = None,
    environment: Annotated[str | None, Query(pattern=ENV_PATTERN)] = None,
    status: Annotated[
        str | None, Query(pattern="^(|in_progress|success|failed|rolled_back)$")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeploymentPage:
    """Scope ``metrics:read`` (or an admin's session)."""
    result = await deployments.list_deployments(
        session,
        service=service or None,
        environment=environment or None,
        status=status or None,
        page=page,
        per_page=per_page,
    )
    counts = await deployments.commit_counts(session, ids=[d.id for d in result.items])
    return DeploymentPage(
        items=[DeploymentOut.from_row(d, counts.get(d.id, 0)) for d in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


class SeriesPoint(BaseModel):
    start: str = Field(description="Local date the point starts: a day, or a week's Monday")
    value: float | None


class MetricOut(BaseModel):
    key: str
    value: float | None = Field(description="None: no data (never a fake 0)")
    unit: str
    level: str | None
    previous: float | None
    delta: float | None
    trend: str | None = Field(description="better | worse | same against the previous window")
    sample_size: int
    label: str | None
    extra: dict[str, float | int | None]
    series: list[SeriesPoint] = Field(
        description="The trend over the window, one point per series_bucket (oldest first)"
    )


class StatsOut(BaseModel):
    total: int
    success: int
    failed: int
    rolled_back: int
    in_progress: int


class StagesOut(BaseModel):
    coding: float | None = Field(description="Median first commit → opened")
    pickup: float | None = Field(description="Median opened → first review")
    review: float | None = Field(description="Median first review → merged")
    deploy: float | None = Field(
        description="Median merged → first successful deployment of the merge commit"
    )
    counts: dict[str, int] = Field(description="Pull requests behind each median")
    pull_requests: int


class WeekStagesOut(StagesOut):
    week: str = Field(description="Local date of the week's Monday")


class SlowPullOut(BaseModel):
    number: int
    title: str
    author: str | None
    url: str | None
    merged_at: datetime
    services: list[str]
    coding: float | None
    pickup: float | None
    review: float | None
    deploy: float | None
    total: float


class BreakdownOut(BaseModel):
    days: int
    environment: str
    service: str | None
    unit: str
    window: StagesOut
    per_service: dict[str, StagesOut]
    per_week: list[WeekStagesOut]
    slowest: list[SlowPullOut]


class DoraOut(BaseModel):
    days: int
    environment: str
    service: str | None
    timezone: str
    start: datetime
    end: datetime
    stats: StatsOut
    previous_stats: StatsOut | None
    open_incidents: int
    cfr_mode: str = Field(
        "deployments",
        description="How the change failure rate counts (DCC_CFR_MODE): deployments = failed "
        "+ rolled back; incidents = deployments that caused an incident",
    )
    series_bucket: str = Field(
        "week", description="day (windows up to 31 days) or week (longer): one series point"
    )
    metrics: dict[str, MetricOut]
    lead_time_breakdown: BreakdownOut | None = Field(
        None,
        description="Lead time split into coding, pickup, review and deploy (seconds), from "
        "the pull requests merged in the window",
    )


@router.get(
    "/metrics/dora",
    response_model=DoraOut,
    responses=AUTH_ERRORS,
    summary="DORA metrics (the dashboard's figures)",
    openapi_extra=scope_doc("metrics:read"),
)
@reads_only
async def get_dora(
    session: SessionDep,
    settings: SettingsDep,
    _who: Reader,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    service: Annotated[str | None, Query(pattern=SERVICE_PATTERN)] = None,
    environment: Annotated[str, Query(pattern=ENV_PATTERN)] = "production",
) -> DoraOut:
    """Scope ``metrics:read`` (or an admin's session). Weeks in ``DCC_TIMEZONE``."""
    report = await dora.dora_report(
        session,
        days=days,
        environment=environment or "production",
        service=service or None,
        tz=settings.timezone,
        cfr_mode=settings.cfr_mode,
    )
    stages = await breakdown.lead_time_breakdown(
        session,
        days=days,
        environment=environment or "production",
        service=service or None,
        repo=settings.github_repo,
        tz=settings.timezone,
    )
    return DoraOut.model_validate(
        {**presenter.api_body(report), "lead_time_breakdown": stages.as_dict()}
    )
