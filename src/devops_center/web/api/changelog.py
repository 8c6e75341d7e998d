"""``/api/v1/changelog``: the journal of merged pull requests (token scope
``changelog:read``, or an admin's session). Thin: :mod:`devops_center.changelog.service`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from devops_center.changelog import queries as changelog
from devops_center.changelog.rules import CHANGE_TYPES
from devops_center.deployments.models import ChangelogEntry
from devops_center.users.access import Caller
from devops_center.web.api.common import scope_doc
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import RowId, SessionDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["changelog"])

Reader = Annotated[Caller, Depends(require_scope("changelog:read", allow_admin_session=True))]


class EntryOut(BaseModel):
    id: int
    date: datetime = Field(description="when the pull request was merged")
    component: str | None = Field(description="the package most changed files belong to")
    change_type: str | None = Field(description=" | ".join(CHANGE_TYPES))
    description: str = Field(description="the title, and a summary of the body")
    priority: str | None
    status: str | None = Field(description="merged | deployed")
    commit_sha: str | None = Field(description="the merge commit")
    github_issue: int | None = Field(description="the issue the pull request closes")
    pull_number: int | None
    url: str | None = Field(description="the pull request on GitHub")
    author_login: str | None
    created_by: int | None = Field(description="the user whose GitHub login is the author's")
    impact_score: float | None = Field(
        description="[0, 1]: centrality of the changed modules weighted by how much of "
        "each changed (docs/architecture.md); null without an architecture scan"
    )
    deployment_id: int | None = Field(description="the production deployment that shipped it")
    deployed_at: datetime | None
    user_line_ru: str | None
    user_line_en: str | None
    indexed_in_brain: bool

    @classmethod
    def of(cls, e: ChangelogEntry) -> EntryOut:
        return cls(
            id=e.id,
            date=e.date,
            component=e.component,
            change_type=e.change_type,
            description=e.description,
            priority=e.priority,
            status=e.status,
            commit_sha=e.commit_sha,
            github_issue=e.github_issue,
            pull_number=e.pull_number,
            url=e.url,
            author_login=e.author_login,
            created_by=e.created_by,
            impact_score=e.impact_score,
            deployment_id=e.deployment_id,
            deployed_at=e.deployed_at,
            user_line_ru=e.user_line_ru,
            user_line_en=e.user_line_en,
            indexed_in_brain=e.indexed_in_brain,
        )


class EntryPage(BaseModel):
    items: list[EntryOut]
    total: int
    page: int
    per_page: int


@router.get(
    "/changelog",
    response_model=EntryPage,
    responses=problem_responses(*COMMON),
    summary="Changelog entries, newest first",
    openapi_extra=scope_doc("changelog:read"),
)
async def get_changelog(
    session: SessionDep,
    _who: Reader,
    component: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=50, description="change type")] = None,
    status: Annotated[str | None, Query(max_length=20, description="merged | deployed")] = None,
    date_from: Annotated[date | None, Query(description="merged on or after (UTC day)")] = None,
    date_to: Annotated[date | None, Query(description="merged on or before (UTC day)")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EntryPage:
    """Filters: ``component``, ``type`` (feature, fix, …), ``status``, a date range."""
    filters = changelog.validate_filter(
        component=component,
        change_type=type,
        status=status,
        date_from=date_from,
        date_to=date_to,
    )
    result = await changelog.list_entries(session, filters=filters, page=page, per_page=per_page)
    return EntryPage(
        items=[EntryOut.of(e) for e in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.get(
    "/changelog/{entry_id}",
    response_model=EntryOut,
    responses=problem_responses(*COMMON, 404),
    summary="One changelog entry",
    openapi_extra=scope_doc("changelog:read"),
)
async def get_entry(session: SessionDep, _who: Reader, entry_id: RowId) -> EntryOut:
    return EntryOut.of(await changelog.get_entry(session, entry_id))
