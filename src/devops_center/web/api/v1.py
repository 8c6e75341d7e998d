"""The JSON API, version 1. Feature routers are included into :data:`router`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from devops_center.users.access import Caller
from devops_center.web.api.problems import problem_responses
from devops_center.web.deps import require_scope

router = APIRouter(prefix="/api/v1", tags=["api"])


class ActsFor(BaseModel):
    id: int
    name: str
    email: str | None
    role: str


class WhoAmI(BaseModel):
    kind: str = Field(description="token | session")
    name: str
    scopes: list[str] = Field(description="What this caller may do (within the user's role)")
    acts_for: ActsFor | None = Field(
        default=None, description="The user a token acts as; null for an integration token"
    )


@router.get("/whoami", response_model=WhoAmI, responses=problem_responses(401, 403, 429))
async def whoami(
    caller: Annotated[Caller, Depends(require_scope(None, allow_admin_session=True))],
) -> WhoAmI:
    """Who the caller is: a token (with its scopes and the user it acts for) or an
    admin's session. No scope needed."""
    user = caller.user
    acts = ActsFor(id=user.id, name=user.name, email=user.email, role=user.role) if user else None
    if caller.token is not None:
        return WhoAmI(kind="token", name=caller.name, scopes=sorted(caller.scopes), acts_for=acts)
    return WhoAmI(kind="session", name=caller.name, scopes=["admin"], acts_for=acts)
