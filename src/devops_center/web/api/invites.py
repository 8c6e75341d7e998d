"""``/api/v1/invites``: one-time invitations to the team (``users:admin``), the same
``team.create_invite`` / ``revoke_invite`` as /admin/users and ``dcc users invite``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from devops_center.notify import links
from devops_center.users import team
from devops_center.users.access import Caller
from devops_center.users.models import Invite
from devops_center.web.api.common import IdempotencyKey, scope_doc
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import RowId, SessionDep, SettingsDep, client_ip, require_scope

router = APIRouter(prefix="/api/v1", tags=["users"])

Admin = Annotated[Caller, Depends(require_scope("users:admin"))]
Role = Literal["employee", "manager", "owner", "superadmin"]
Channel = Literal["email", "telegram"]


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Field(
        description="email: a web page link to send by email; telegram: a link to the bot"
    )
    role: Role = "employee"
    email: str | None = Field(default=None, max_length=254, description="Required for email")
    name: str | None = Field(default=None, max_length=200)


class InviteOut(BaseModel):
    id: int
    channel: Channel
    role: Role
    email: str | None
    name: str | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, invite: Invite) -> InviteOut:
        return cls(
            id=invite.id,
            channel=invite.channel,
            role=invite.role,
            email=invite.email,
            name=invite.name,
            created_at=invite.created_at,
            expires_at=invite.expires_at,
        )


class InviteCreated(InviteOut):
    link: str | None = Field(
        description="Shown once. None for a Telegram invite while the bot's name is unknown"
    )


class InviteList(BaseModel):
    items: list[InviteOut]


@router.get(
    "/invites",
    response_model=InviteList,
    responses=problem_responses(*COMMON),
    summary="Open invitations (not used, revoked or expired)",
    openapi_extra=scope_doc("users:admin"),
)
async def list_invites(session: SessionDep, _caller: Admin) -> InviteList:
    return InviteList(items=[InviteOut.of(i) for i in await team.pending_invites(session)])


@router.post(
    "/invites",
    response_model=InviteCreated,
    status_code=201,
    responses=problem_responses(*COMMON),
    summary="Invite someone (a one-time link, valid 7 days)",
    openapi_extra=scope_doc("users:admin"),
)
async def create_invite(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    caller: Admin,
    body: InviteIn,
    idempotency_key: IdempotencyKey = None,
) -> InviteCreated:
    invite, token = await team.create_invite(
        session, channel=body.channel, role=body.role, email=body.email, name=body.name,
        actor_id=caller.actor_id, ip=client_ip(request),
    )  # fmt: skip
    link = await links.invite_link(session, settings, channel=invite.channel, token=token)
    response.headers["cache-control"] = "no-store"
    return InviteCreated(**InviteOut.of(invite).model_dump(), link=link)


@router.delete(
    "/invites/{invite_id}",
    status_code=204,
    responses=problem_responses(*COMMON, 404),
    summary="Revoke an invitation",
    openapi_extra=scope_doc("users:admin"),
)
async def revoke_invite(
    request: Request,
    session: SessionDep,
    caller: Admin,
    invite_id: RowId,
) -> Response:
    await team.revoke_invite(
        session, invite_id=invite_id, actor_id=caller.actor_id, ip=client_ip(request)
    )
    return Response(status_code=204)
