"""The audit log: who changed what, when, and from where.

:func:`audit` is called by every service that changes something an admin must be able
to trace (users, roles, invites, tokens, bugs, FAQ); :func:`entries` reads it for the
admin page and the API (newest first), :func:`history` for one record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.users.models import AuditLog, User

PAGE = 50
MAX_PAGE = 200


@dataclass(frozen=True)
class Entry:
    id: int
    created_at: datetime
    actor_id: int | None
    actor_name: str | None
    actor_email: str | None
    entity: str
    entity_id: int | None
    action: str
    details: dict[str, Any]
    ip: str | None


def _details(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"text": raw}
    return value if isinstance(value, dict) else {"value": value}


async def entries(
    session: AsyncSession,
    *,
    entity: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    before_id: int | None = None,
    limit: int = PAGE,
) -> list[Entry]:
    """Entries newest first; ``before_id`` continues a page (the last id seen)."""
    stmt = (
        select(AuditLog, User.name, User.email)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .order_by(AuditLog.id.desc())
        .limit(max(1, min(limit, MAX_PAGE)))
    )
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    if before_id is not None:
        stmt = stmt.where(AuditLog.id < before_id)
    rows = await session.execute(stmt)
    return [
        Entry(
            id=row.id,
            created_at=row.created_at,
            actor_id=row.actor_id,
            actor_name=name,
            actor_email=email,
            entity=row.entity,
            entity_id=row.entity_id,
            action=row.action,
            details=_details(row.details),
            ip=row.ip,
        )
        for row, name, email in rows
    ]


async def entities(session: AsyncSession) -> list[str]:
    """The kinds of things the log has entries for (a filter's choices)."""
    rows = await session.execute(select(AuditLog.entity).distinct().order_by(AuditLog.entity))
    return [str(e) for e in rows.scalars()]


async def audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    row = AuditLog(
        actor_id=actor_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
        ip=(ip or None) and ip[:45],
    )
    session.add(row)
    await session.flush()
    return row


async def history(session: AsyncSession, *, entity: str, entity_id: int) -> list[AuditLog]:
    stmt = (
        select(AuditLog)
        .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
        .order_by(AuditLog.created_at, AuditLog.id)
    )
    return list((await session.execute(stmt)).scalars())
