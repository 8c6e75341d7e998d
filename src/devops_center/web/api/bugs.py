"""``/api/v1/bugs``: list, read, file (JSON or multipart with a screenshot), triage.

Thin: the rules are ``support.file_bug`` (the web form's and the bot's use case),
``support.bug_page`` / ``get_bug_as`` (who sees which bug) and ``support.update_bug``.
A token acting for a user sees what that user sees on the web: their own bugs, or every
bug for an owner/superadmin; an integration token sees every bug.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.support import service as support
from devops_center.support import uploads
from devops_center.support.models import BugLog
from devops_center.users import service as users
from devops_center.users import tokens as api_tokens
from devops_center.users.access import Caller
from devops_center.users.models import User
from devops_center.web.api.common import (
    IMAGE_RESPONSES,
    Cursor,
    IdempotencyKey,
    Limit,
    UtcDateTime,
    decode_cursor,
    encode_cursor,
    image_file,
    read_body_with_file,
    scope_doc,
)
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import RowId, SessionDep, SettingsDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["bugs"])

Reader = Annotated[Caller, Depends(require_scope("bugs:read"))]
Writer = Annotated[Caller, Depends(require_scope("bugs:write"))]
Triager = Annotated[Caller, Depends(require_scope("bugs:admin"))]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Status = Literal["open", "in_progress", "resolved", "closed"]
Priority = Literal["critical", "high", "medium", "low"]


class BugOut(BaseModel):
    id: int
    title: str
    what_doing: str
    expected: str
    actual: str
    priority: Priority
    status: Status
    source: str = Field(description="web | telegram | api")
    reporter_id: int
    assignee_id: int | None
    github_issue_number: int | None
    screenshot_url: str | None = Field(description="The API address of the screenshot, if any")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, bug: BugLog) -> BugOut:
        return cls(
            id=bug.id,
            title=bug.title,
            what_doing=bug.what_doing,
            expected=bug.expected,
            actual=bug.actual,
            priority=bug.priority,
            status=bug.status,
            source=bug.source,
            reporter_id=bug.user_id,
            assignee_id=bug.assigned_to,
            github_issue_number=bug.github_issue_number,
            screenshot_url=f"/api/v1/bugs/{bug.id}/screenshot" if bug.screenshot_key else None,
            created_at=bug.created_at,
            updated_at=bug.updated_at,
            resolved_at=bug.resolved_at,
        )


class BugPage(BaseModel):
    items: list[BugOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class BugIn(BaseModel):
    """A report, with the web form's fields."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=200)
    what_doing: str = Field(min_length=1, max_length=10_000, description="What were you doing?")
    expected: str = Field(min_length=1, max_length=10_000, description="What did you expect?")
    actual: str = Field(min_length=1, max_length=10_000, description="What happened instead?")
    priority: Priority = "medium"
    reporter_email: str | None = Field(
        default=None,
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="Integration tokens only: the active user who reports it (default: "
        "the integration's own account)",
    )


class BugPatch(BaseModel):
    """Triage: any of the fields; ``assignee_id: null`` unassigns."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    priority: Priority | None = None
    assignee_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


def _schema(model: type[BaseModel], **extra: Any) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["properties"].update(extra)
    return schema


CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _schema(BugIn)},
            "multipart/form-data": {
                "schema": _schema(
                    BugIn,
                    screenshot={
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


@router.get(
    "/bugs",
    response_model=BugPage,
    responses=problem_responses(*COMMON),
    summary="Bugs, newest first",
    openapi_extra=scope_doc("bugs:read"),
)
async def list_bugs(
    session: SessionDep,
    caller: Reader,
    status: Status | None = None,
    priority: Priority | None = None,
    reporter: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    assignee: Annotated[
        int | None, Query(ge=0, le=2_147_483_647, description="A user id; 0: unassigned")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words of title or text")] = None,
    created_from: Annotated[UtcDateTime | None, Query(description="Inclusive")] = None,
    created_to: Annotated[UtcDateTime | None, Query(description="Exclusive")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> BugPage:
    """Filters combine. Paging follows a stable order (filed time, then id): a bug filed
    while you page never shifts or repeats an item. A token acting for a user who is not
    an owner or superadmin sees that user's bugs only."""
    bugs, after = await support.bug_page(
        session,
        filters=support.BugFilter(
            status=status,
            priority=priority,
            assignee=assignee,
            text=q,
            reporter=reporter,
            created_from=created_from,
            created_to=created_to,
        ),
        only_reporter=caller.only_reporter,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return BugPage(items=[BugOut.of(b) for b in bugs], next_cursor=encode_cursor(after))


@router.get(
    "/bugs/{bug_id}",
    response_model=BugOut,
    responses=problem_responses(*COMMON, 404),
    summary="One bug",
    openapi_extra=scope_doc("bugs:read"),
)
async def get_bug(session: SessionDep, caller: Reader, bug_id: RowId) -> BugOut:
    bug = await support.get_bug_as(session, bug_id=bug_id, only_reporter=caller.only_reporter)
    return BugOut.of(bug)


@router.get(
    "/bugs/{bug_id}/screenshot",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
    summary="A bug's screenshot",
    openapi_extra=scope_doc("bugs:read"),
)
async def get_screenshot(
    session: SessionDep, settings: SettingsDep, caller: Reader, bug_id: RowId
) -> FileResponse:
    bug = await support.get_bug_as(session, bug_id=bug_id, only_reporter=caller.only_reporter)
    if not bug.screenshot_key:
        raise NotFound(lazy("No such screenshot"))
    stored = uploads.open_image(settings, bug.screenshot_key)
    return image_file(stored)


def _client_token(caller: Caller, key: str | None) -> str | None:
    """The Idempotency-Key as the report's form token: even a retry that runs again
    after a crash (the key's record lost) returns the first bug."""
    if not key or caller.token is None:
        return None
    return "api-" + hashlib.sha256(f"{caller.token.id}:{key}".encode()).hexdigest()[:60]


async def _reporter(session: AsyncSession, caller: Caller, email: str | None) -> User:
    """Who files: the token's user (who cannot file for someone else), or for an
    integration the named reporter or the integration itself."""
    if caller.user is not None:
        if email and users.normalize_email(email) != (caller.user.email or ""):
            message = lazy("A token acting for a user files as that user")
            raise Invalid(message, fields={"reporter_email": message})
        return caller.user
    assert caller.token is not None
    return await api_tokens.integration_reporter(session, token=caller.token, email=email)


@router.post(
    "/bugs",
    response_model=BugOut,
    status_code=201,
    responses=problem_responses(*COMMON, 413),
    summary="File a bug (JSON, or multipart with a screenshot)",
    openapi_extra=CREATE_BODY,
)
async def create_bug(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> BugOut:
    """The same use case as the web form and the bot (validation, per-reporter rate
    limit, GitHub issue, critical incident). A token acting for a user files as that
    user; an integration names the reporter with `reporter_email` or files as itself."""
    report, image = await read_body_with_file(
        request, BugIn, file_field="screenshot", max_bytes=settings.max_upload_bytes
    )
    reporter = await _reporter(session, caller, report.reporter_email)
    filed = await support.file_bug(
        session,
        settings=settings,
        reporter_id=reporter.id,
        report=support.BugReport(
            title=report.title,
            what_doing=report.what_doing,
            expected=report.expected,
            actual=report.actual,
            priority=report.priority,
            screenshot=image,
            client_token=_client_token(caller, idempotency_key),
        ),
        source="api",
    )
    response.headers["location"] = f"/api/v1/bugs/{filed.bug.id}"
    return BugOut.of(filed.bug)


@router.patch(
    "/bugs/{bug_id}",
    response_model=BugOut,
    responses=problem_responses(*COMMON, 404),
    summary="Triage: status, priority, assignee",
    openapi_extra=scope_doc("bugs:admin"),
)
async def update_bug(
    session: SessionDep, caller: Triager, bug_id: RowId, patch: BugPatch
) -> BugOut:
    """Scope `bugs:admin` (for a user's token: an owner or superadmin). The reporter is
    told of a status change, as from the web."""
    bug = await support.update_bug(
        session,
        bug_id=bug_id,
        actor_id=caller.actor_id,
        status=patch.status,
        priority=patch.priority,
        assigned_to=patch.assignee_id,
        set_assignee="assignee_id" in patch.model_fields_set,
        source="api",
    )
    return BugOut.of(bug)
