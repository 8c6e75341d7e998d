"""``/api/v1/audit``: the audit log (``audit:read``), newest first, the rows of /admin/audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from devops_center.users import auditlog
from devops_center.users.access import Caller
from devops_center.web.api.common import scope_doc
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import SessionDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["audit"])

Reader = Annotated[Caller, Depends(require_scope("audit:read"))]
Id = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


class Actor(BaseModel):
    id: int
    name: str | None
    email: str | None


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: Actor | None
    entity: str
    entity_id: int | None
    action: str
    details: dict[str, Any]
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_before: int | None


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=problem_responses(*COMMON),
    summary="The audit log: who changed what, when, from where",
    openapi_extra=scope_doc("audit:read"),
)
async def audit_log(
    session: SessionDep,
    _caller: Reader,
    entity: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Id = None,
    actor_id: Id = None,
    before: Id = None,
    limit: Annotated[int, Query(ge=1, le=auditlog.MAX_PAGE)] = auditlog.PAGE,
) -> AuditPage:
    """Pages of ``limit`` entries; pass ``next_before`` as ``before`` for older ones."""
    rows = await auditlog.entries(
        session, entity=entity, entity_id=entity_id, actor_id=actor_id, before_id=before,
        limit=limit + 1,
    )  # fmt: skip
    items = [
        AuditEntryOut(
            id=e.id,
            at=e.created_at,
            actor=Actor(id=e.actor_id, name=e.actor_name, email=e.actor_email)
            if e.actor_id is not None
            else None,
            entity=e.entity,
            entity_id=e.entity_id,
            action=e.action,
            details=e.details,
            ip=e.ip,
        )
        for e in rows[:limit]
    ]
    return AuditPage(items=items, next_before=items[-1].id if len(rows) > limit else None)
