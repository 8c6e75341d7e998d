"""``/api/v1/users``: the team (``users:admin``). Never returns a password hash.

Thin: ``users.list_users`` / ``create_user`` / ``set_role`` / ``set_active``, the
functions the users page and the CLI call (a role change or a deactivation ends every
session of the user at once; the last owner stays an owner).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from devops_center.users import service as users
from devops_center.users import team
from devops_center.users.access import Caller
from devops_center.users.models import User
from devops_center.web.api.common import IdempotencyKey, scope_doc
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import RowId, SessionDep, client_ip, require_scope

router = APIRouter(prefix="/api/v1", tags=["users"])

Admin = Annotated[Caller, Depends(require_scope("users:admin"))]
Role = Literal["employee", "manager", "owner", "superadmin"]
Language = Literal["ru", "en"]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserOut(BaseModel):
    id: int
    name: str
    email: str | None
    role: Role
    language: Language | None
    telegram_id: int | None
    telegram_username: str | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            name=user.name,
            email=user.email,
            role=user.role,
            language=user.language,
            telegram_id=user.telegram_id,
            telegram_username=user.telegram_username,
            is_active=user.is_active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class UserList(BaseModel):
    items: list[UserOut]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    role: Role = "employee"
    language: Language | None = None
    password: str | None = Field(
        default=None,
        min_length=8,
        max_length=200,
        description="Optional: without one the user signs in through Telegram or an invite",
    )


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = Field(
        default=None, description="false: deactivate (every session and token stops at once)"
    )


@router.get(
    "/users",
    response_model=UserList,
    responses=problem_responses(*COMMON),
    summary="Every account",
    openapi_extra=scope_doc("users:admin"),
)
async def list_users(session: SessionDep, _caller: Admin, role: Role | None = None) -> UserList:
    return UserList(items=[UserOut.of(u) for u in await users.list_users(session, role=role)])


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    responses=problem_responses(*COMMON, 404),
    summary="One account",
    openapi_extra=scope_doc("users:admin"),
)
async def get_user(session: SessionDep, _caller: Admin, user_id: RowId) -> UserOut:
    return UserOut.of(await users.get_user(session, user_id=user_id))


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses=problem_responses(*COMMON, 409),
    summary="Create an account",
    openapi_extra=scope_doc("users:admin"),
)
async def create_user(
    request: Request,
    response: Response,
    session: SessionDep,
    caller: Admin,
    body: UserIn,
    idempotency_key: IdempotencyKey = None,
) -> UserOut:
    user = await team.add_member(
        session,
        name=body.name,
        email=body.email,
        role=body.role,
        language=body.language,
        password=body.password,
        actor_id=caller.actor_id,
        ip=client_ip(request),
        via="api",
    )
    response.headers["location"] = f"/api/v1/users/{user.id}"
    return UserOut.of(user)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses=problem_responses(*COMMON, 404, 409),
    summary="Change the role, deactivate or reactivate",
    openapi_extra=scope_doc("users:admin"),
)
async def update_user(
    request: Request, session: SessionDep, caller: Admin, user_id: RowId, patch: UserPatch
) -> UserOut:
    """A role change or a deactivation ends the user's sessions at once (409 for the last
    owner)."""
    ip = client_ip(request)
    user = await users.get_user(session, user_id=user_id)
    if patch.role is not None:
        user = await users.set_role(
            session, user_id=user_id, role=patch.role, actor_id=caller.actor_id, ip=ip
        )
    if patch.is_active is not None:
        user = await users.set_active(
            session, user_id=user_id, active=patch.is_active, actor_id=caller.actor_id, ip=ip
        )
    return UserOut.of(user)
