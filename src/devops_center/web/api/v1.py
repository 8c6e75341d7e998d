"""The JSON API, version 1. Feature routers are included into :data:`router`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from devops_center.users.models import ApiToken, User
from devops_center.web.deps import require_scope

router = APIRouter(prefix="/api/v1", tags=["api"])


class WhoAmI(BaseModel):
    kind: str
    name: str
    scopes: list[str]


@router.get("/whoami", response_model=WhoAmI)
async def whoami(
    principal: Annotated[ApiToken | User, Depends(require_scope(None, allow_admin_session=True))],
) -> WhoAmI:
    """Who the caller is: a token (with its scopes) or an admin's session."""
    if isinstance(principal, ApiToken):
        return WhoAmI(kind="token", name=principal.name, scopes=sorted(principal.scope_set))
    return WhoAmI(kind="session", name=principal.name, scopes=["admin"])
