"""``/api/v1/incidents``: list, read, open by hand, resolve (``incidents:*``).

Thin: ``incidents.incident_page`` / ``get_incident`` / ``open_manual`` / ``close``,
the functions the incidents page calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from devops_center.incidents import service as incidents
from devops_center.incidents.models import Incident
from devops_center.users.access import Caller
from devops_center.web.api.common import (
    Cursor,
    IdempotencyKey,
    Limit,
    decode_cursor,
    encode_cursor,
    scope_doc,
)
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import RowId, SessionDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["incidents"])

Reader = Annotated[Caller, Depends(require_scope("incidents:read"))]
Writer = Annotated[Caller, Depends(require_scope("incidents:write"))]
Severity = Literal["critical", "high", "medium", "low"]
Source = Literal["deployment", "check", "bug", "manual"]


class IncidentOut(BaseModel):
    id: int
    title: str
    description: str | None
    source: Source
    source_ref: str | None
    service: str | None
    environment: str
    severity: str
    deployment_id: int | None
    bug_id: int | None
    opened_at: datetime
    opened_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    is_open: bool

    @classmethod
    def of(cls, row: Incident) -> IncidentOut:
        return cls(
            id=row.id,
            title=row.title,
            description=row.description,
            source=row.source,
            source_ref=row.source_ref,
            service=row.service,
            environment=row.environment,
            severity=row.severity,
            deployment_id=row.deployment_id,
            bug_id=row.bug_id,
            opened_at=row.opened_at,
            opened_by=row.opened_by,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            is_open=row.is_open,
        )


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    severity: Severity = "high"
    service: str | None = Field(default=None, max_length=100)
    environment: str = Field(default="production", min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=10_000)


@router.get(
    "/incidents",
    response_model=IncidentPage,
    responses=problem_responses(*COMMON),
    summary="Incidents, newest first",
    openapi_extra=scope_doc("incidents:read"),
)
async def list_incidents(
    session: SessionDep,
    _caller: Reader,
    open: bool = False,
    source: Source | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> IncidentPage:
    rows, after = await incidents.incident_page(
        session, open_only=open, source=source, after=decode_cursor(cursor), limit=limit
    )
    return IncidentPage(items=[IncidentOut.of(r) for r in rows], next_cursor=encode_cursor(after))


@router.get(
    "/incidents/{incident_id}",
    response_model=IncidentOut,
    responses=problem_responses(*COMMON, 404),
    summary="One incident",
    openapi_extra=scope_doc("incidents:read"),
)
async def get_incident(session: SessionDep, _caller: Reader, incident_id: RowId) -> IncidentOut:
    return IncidentOut.of(await incidents.get_incident(session, incident_id=incident_id))


@router.post(
    "/incidents",
    response_model=IncidentOut,
    status_code=201,
    responses=problem_responses(*COMMON),
    summary="Open an incident by hand",
    openapi_extra=scope_doc("incidents:write"),
)
async def open_incident(
    response: Response,
    session: SessionDep,
    caller: Writer,
    body: IncidentIn,
    idempotency_key: IdempotencyKey = None,
) -> IncidentOut:
    """It counts for time to restore once resolved."""
    row = await incidents.open_manual(
        session,
        title=body.title,
        user_id=caller.actor_id,
        service=body.service,
        environment=body.environment,
        severity=body.severity,
        description=body.description,
    )
    response.headers["location"] = f"/api/v1/incidents/{row.id}"
    return IncidentOut.of(row)


@router.post(
    "/incidents/{incident_id}/resolve",
    response_model=IncidentOut,
    responses=problem_responses(*COMMON, 404),
    summary="Resolve an incident now (again: no change)",
    openapi_extra=scope_doc("incidents:write"),
)
async def resolve_incident(
    session: SessionDep,
    caller: Writer,
    incident_id: RowId,
    idempotency_key: IdempotencyKey = None,
) -> IncidentOut:
    row = await incidents.close(session, incident_id=incident_id, user_id=caller.actor_id)
    return IncidentOut.of(row)
