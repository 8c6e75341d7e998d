"""``GET /api/v1/status``: every system check as JSON (token with ``metrics:read``, or an
admin's session). The same figures as the dashboard panel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from devops_center.status import service as status
from devops_center.users.access import Caller
from devops_center.web.api.common import scope_doc
from devops_center.web.api.problems import problem_responses
from devops_center.web.deps import SessionDep, SettingsDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["status"])


class CheckOut(BaseModel):
    name: str
    type: str
    state: str  # up | down | pending | maintenance | unknown | not_configured
    since: datetime | None
    last_checked_at: datetime | None
    response_ms: float | None
    uptime_24h: float | None
    uptime_7d: float | None
    uptime_30d: float | None
    message: str | None
    incident_id: int | None


class StatusOut(BaseModel):
    ok: bool  # no check is down
    checks: list[CheckOut]


@router.get(
    "/status",
    response_model=StatusOut,
    responses=problem_responses(401, 403, 429),
    openapi_extra=scope_doc("metrics:read"),
)
async def get_status(
    caller: Annotated[Caller, Depends(require_scope("metrics:read", allow_admin_session=True))],
    session: SessionDep,
    settings: SettingsDep,
) -> StatusOut:
    """Every check: state, since when, last response time, uptime over 24 h / 7 d / 30 d."""
    views = await status.current_states(session, settings)
    return StatusOut(
        ok=not any(v.is_down for v in views),
        checks=[
            CheckOut(
                name=v.name,
                type=v.type,
                state=v.state,
                since=v.since,
                last_checked_at=v.last_checked_at,
                response_ms=v.response_ms,
                uptime_24h=v.uptime_24h,
                uptime_7d=v.uptime_7d,
                uptime_30d=v.uptime_30d,
                message=v.message,
                incident_id=v.incident_id,
            )
            for v in views
        ],
    )
