"""``/api/v1/bugs/{id}/comments``, ``…/timeline`` and ``…/close``: the conversation on a
bug, through the same ``support`` functions as the web page and the bot.

A token acting for a user is the team when that user is an owner or superadmin (else
the reporter, on their own bugs only); an integration token is the team and writes as
its own account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.support import service as support
from devops_center.support.models import BugComment
from devops_center.users import tokens as api_tokens
from devops_center.users.access import Caller
from devops_center.web.api.bugs import BugOut, _client_token, _schema
from devops_center.web.api.common import (
    IMAGE_RESPONSES,
    IdempotencyKey,
    image_file,
    read_body_with_file,
    scope_doc,
)
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import RowId, SessionDep, SettingsDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["bugs"])

Reader = Annotated[Caller, Depends(require_scope("bugs:read"))]
Writer = Annotated[Caller, Depends(require_scope("bugs:write"))]
Status = Literal["open", "in_progress", "resolved", "closed"]


class CommentOut(BaseModel):
    id: int
    bug_id: int
    body: str
    internal: bool = Field(description="An internal note: only the team sees it")
    from_team: bool = Field(description="Written by the team (or on GitHub), not the reporter")
    author_id: int | None = Field(description="The dcc user; null for a GitHub comment")
    author_name: str | None
    github_login: str | None = Field(description="The GitHub author of a mirrored comment")
    source: str = Field(description="web | telegram | api | github")
    attachment_url: str | None = Field(description="The API address of the attached image")
    created_at: datetime

    @classmethod
    def of(cls, comment: BugComment, names: dict[int, str]) -> CommentOut:
        return cls(
            id=comment.id,
            bug_id=comment.bug_id,
            body=comment.body,
            internal=comment.internal,
            from_team=comment.from_team,
            author_id=comment.author_id,
            author_name=names.get(comment.author_id) if comment.author_id else None,
            github_login=comment.github_login,
            source=comment.source,
            attachment_url=(
                f"/api/v1/bugs/{comment.bug_id}/comments/{comment.id}/attachment"
                if comment.attachment_key
                else None
            ),
            created_at=comment.created_at,
        )


class CommentList(BaseModel):
    items: list[CommentOut]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(default="", max_length=4_000, description="The message (may be empty "
                      "with an attachment)")  # fmt: skip
    internal: bool = Field(default=False, description="An internal note (the team only)")


class TimelineEntry(BaseModel):
    kind: Literal["filed", "status", "comment"]
    at: datetime
    actor_id: int | None
    actor_name: str | None
    old_status: Status | None = None
    new_status: Status | None = None
    via: str | None = Field(description="web | telegram | api | github | admin …")
    comment: CommentOut | None = None


class Timeline(BaseModel):
    items: list[TimelineEntry]


COMMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _schema(CommentIn)},
            "multipart/form-data": {
                "schema": _schema(
                    CommentIn,
                    attachment={
                        "type": "string",
                        "format": "binary",
                        "description": "PNG, JPEG or WebP, at most DCC_MAX_UPLOAD_MB",
                    },
                )
            },
        },
    },
    **scope_doc("bugs:write"),
}


def _team(caller: Caller) -> bool:
    return caller.sees_every_bug


async def _author(session: AsyncSession, caller: Caller) -> int:
    if caller.user is not None:
        return caller.user.id
    assert caller.token is not None
    account = await api_tokens.integration_reporter(session, token=caller.token, email=None)
    return account.id


async def _names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    return await support.people_names(session, ids)


@router.get(
    "/bugs/{bug_id}/comments",
    response_model=CommentList,
    responses=problem_responses(*COMMON, 404),
    summary="A bug's comments, oldest first",
    openapi_extra=scope_doc("bugs:read"),
)
async def list_comments(session: SessionDep, caller: Reader, bug_id: RowId) -> CommentList:
    """Internal notes are listed for the team only."""
    rows = await support.list_comments(
        session, bug_id=bug_id, viewer_id=caller.actor_id, team=_team(caller)
    )
    names = await _names(session, {c.author_id for c in rows})
    return CommentList(items=[CommentOut.of(c, names) for c in rows])


@router.post(
    "/bugs/{bug_id}/comments",
    response_model=CommentOut,
    status_code=201,
    responses=problem_responses(*COMMON, 404, 413),
    summary="Comment on a bug (JSON, or multipart with an image)",
    openapi_extra=COMMENT_BODY,
)
async def add_comment(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    caller: Writer,
    bug_id: RowId,
    idempotency_key: IdempotencyKey = None,
) -> CommentOut:
    """The reporter adds information to their own bug; the team replies (`internal`:
    a note the reporter never sees). A reply that is no internal note goes to the bug's
    GitHub issue; a team reply reaches the reporter in Telegram."""
    data, image = await read_body_with_file(
        request, CommentIn, file_field="attachment", max_bytes=settings.max_upload_bytes
    )
    author_id = await _author(session, caller)
    added = await support.add_comment(
        session,
        settings=settings,
        bug_id=bug_id,
        author_id=author_id,
        team=_team(caller),
        data=support.CommentInput(
            body=data.body,
            internal=data.internal,
            attachment=image,
            client_token=_client_token(caller, idempotency_key),
        ),
        source="api",
    )
    comment = added.comment
    response.headers["location"] = f"/api/v1/bugs/{bug_id}/comments/{comment.id}"
    return CommentOut.of(comment, await _names(session, {comment.author_id}))


@router.get(
    "/bugs/{bug_id}/comments/{comment_id}",
    response_model=CommentOut,
    responses=problem_responses(*COMMON, 404),
    summary="One comment",
    openapi_extra=scope_doc("bugs:read"),
)
async def get_comment(
    session: SessionDep, caller: Reader, bug_id: RowId, comment_id: RowId
) -> CommentOut:
    comment = await support.get_comment(
        session,
        bug_id=bug_id,
        comment_id=comment_id,
        viewer_id=caller.actor_id,
        team=_team(caller),
    )
    return CommentOut.of(comment, await _names(session, {comment.author_id}))


@router.get(
    "/bugs/{bug_id}/comments/{comment_id}/attachment",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
    summary="A comment's attached image",
    openapi_extra=scope_doc("bugs:read"),
)
async def get_attachment(
    session: SessionDep,
    settings: SettingsDep,
    caller: Reader,
    bug_id: RowId,
    comment_id: RowId,
) -> FileResponse:
    stored = await support.comment_attachment(
        session,
        settings,
        bug_id=bug_id,
        comment_id=comment_id,
        viewer_id=caller.actor_id,
        team=_team(caller),
    )
    return image_file(stored)


@router.get(
    "/bugs/{bug_id}/timeline",
    response_model=Timeline,
    responses=problem_responses(*COMMON, 404),
    summary="A bug's story: filed, status changes and comments, oldest first",
    openapi_extra=scope_doc("bugs:read"),
)
async def timeline(session: SessionDep, caller: Reader, bug_id: RowId) -> Timeline:
    items = await support.timeline(
        session, bug_id=bug_id, viewer_id=caller.actor_id, team=_team(caller)
    )
    names = await _names(session, {i.actor_id for i in items})
    statuses = ("open", "in_progress", "resolved", "closed")
    return Timeline(
        items=[
            TimelineEntry(
                kind=i.kind,
                at=i.at,
                actor_id=i.actor_id,
                actor_name=names.get(i.actor_id) if i.actor_id else None,
                old_status=i.old if i.old in statuses else None,
                new_status=i.new if i.new in statuses else None,
                via=i.via,
                comment=CommentOut.of(i.comment, names) if i.comment else None,
            )
            for i in items
        ]
    )


@router.post(
    "/bugs/{bug_id}/close",
    response_model=BugOut,
    responses=problem_responses(*COMMON, 404),
    summary="The reporter closes their own bug",
    openapi_extra=scope_doc("bugs:write"),
)
async def close_bug(session: SessionDep, caller: Writer, bug_id: RowId) -> BugOut:
    """For a token acting for the bug's reporter (solved, or no longer needed). A bug
    already resolved or closed is returned as it is. Triage (any status) is `PATCH`."""
    if caller.user is None:
        bug = await support.get_bug_as(session, bug_id=bug_id, only_reporter=None)
        reporter_id = bug.user_id if bug.user_id == await _author(session, caller) else -1
    else:
        reporter_id = caller.user.id
    bug = await support.close_own_bug(session, bug_id=bug_id, reporter_id=reporter_id, source="api")
    return BugOut.of(bug)
