"""``/api/v1/faq``: the knowledge base, read (``faq:read``) and edited (``faq:write``).

Thin: ``support.list_faq`` / ``get_faq`` / ``create_faq`` / ``update_faq`` /
``delete_faq`` / ``reorder_faq``, the functions the FAQ admin page calls. Searching is
``GET /api/v1/faq/search``: the support brain's one search (``brain.service.search``),
as on the FAQ page and in the bot; entry ids are integers, so it never collides with
``/faq/{id}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from devops_center.brain import answers
from devops_center.support import service as support
from devops_center.support.models import FaqEntry
from devops_center.users.access import Caller
from devops_center.web.api.common import IdempotencyKey, scope_doc
from devops_center.web.api.problems import COMMON, problem_responses
from devops_center.web.deps import SessionDep, SettingsDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["faq"])

Reader = Annotated[Caller, Depends(require_scope("faq:read"))]
Writer = Annotated[Caller, Depends(require_scope("faq:write"))]
FaqId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Language = Literal["ru", "en"]


class FaqOut(BaseModel):
    id: int
    language: Language
    category: str
    question: str
    answer: str
    order_index: int
    views_count: int
    helpful_count: int
    not_helpful_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, entry: FaqEntry) -> FaqOut:
        return cls(
            id=entry.id,
            language=entry.language,
            category=entry.category,
            question=entry.question,
            answer=entry.answer,
            order_index=entry.order_index,
            views_count=entry.views_count,
            helpful_count=entry.helpful_count,
            not_helpful_count=entry.not_helpful_count,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
        )


class FaqList(BaseModel):
    items: list[FaqOut]


class FaqIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language
    category: str = Field(min_length=1, max_length=100)
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=10_000)
    order_index: int | None = Field(
        default=None, ge=0, le=1_000_000_000, description="Position; default: last"
    )


class ReorderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language
    ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        min_length=1,
        max_length=10_000,
        description="These entries first, in this order; the others follow as they were",
    )


class FaqHit(BaseModel):
    id: int
    question: str
    answer: str
    category: str
    score: float = Field(
        description=(
            "Fused rank, 0–1 (1 = first in every list with the largest vote boost): it orders"
            " the items, it does not say whether they answer — `confident` does"
        )
    )


class FaqSearchOut(BaseModel):
    items: list[FaqHit]
    confident: bool = Field(
        description="Whether the first item likely answers the question (a calibrated"
        " threshold: close in meaning and clearly ahead of the rest, or holding every word)"
    )


def _language(caller: Caller, default: str) -> str:
    """The reader's language: the token's user's, else the hub's default."""
    chosen = caller.user.language if caller.user is not None else None
    return chosen if chosen in ("ru", "en") else default


def _input(body: FaqIn) -> support.FaqInput:
    return support.FaqInput(
        category=body.category,
        question=body.question,
        answer=body.answer,
        language=body.language,
        order_index=body.order_index,
    )


@router.get(
    "/faq",
    response_model=FaqList,
    responses=problem_responses(*COMMON),
    summary="FAQ entries in display order",
    openapi_extra=scope_doc("faq:read"),
)
async def list_faq(
    session: SessionDep,
    _caller: Reader,
    language: Language | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
) -> FaqList:
    entries = await support.list_faq(session, language=language, category=category)
    return FaqList(items=[FaqOut.of(e) for e in entries])


@router.get(
    "/faq/search",
    response_model=FaqSearchOut,
    responses=problem_responses(*COMMON),
    summary="Search the FAQ (any language, by meaning and words)",
    openapi_extra=scope_doc("faq:read"),
)
async def search_faq(
    session: SessionDep,
    settings: SettingsDep,
    caller: Reader,
    q: Annotated[str, Query(max_length=500)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    language: Language | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
) -> FaqSearchOut:
    found = await answers.ask(
        session,
        q,
        language=language or _language(caller, settings.default_language),
        channel="api",
        user_id=caller.user.id if caller.user else None,
        category=category,
        limit=limit,
        related_only=False,
        model=settings.embedding_model,
    )
    return FaqSearchOut.model_validate(found.result.as_dict())


@router.get(
    "/faq/{faq_id:int}",
    response_model=FaqOut,
    responses=problem_responses(*COMMON, 404),
    summary="One FAQ entry",
    openapi_extra=scope_doc("faq:read"),
)
async def get_faq(session: SessionDep, _caller: Reader, faq_id: FaqId) -> FaqOut:
    return FaqOut.of(await support.get_faq(session, faq_id=faq_id))


@router.post(
    "/faq",
    response_model=FaqOut,
    status_code=201,
    responses=problem_responses(*COMMON),
    summary="Add an entry",
    openapi_extra=scope_doc("faq:write"),
)
async def create_faq(
    response: Response,
    session: SessionDep,
    caller: Writer,
    body: FaqIn,
    idempotency_key: IdempotencyKey = None,
) -> FaqOut:
    entry = await support.create_faq(session, data=_input(body), actor_id=caller.actor_id)
    response.headers["location"] = f"/api/v1/faq/{entry.id}"
    return FaqOut.of(entry)


@router.put(
    "/faq/{faq_id:int}",
    response_model=FaqOut,
    responses=problem_responses(*COMMON, 404),
    summary="Replace an entry",
    openapi_extra=scope_doc("faq:write"),
)
async def update_faq(session: SessionDep, caller: Writer, faq_id: FaqId, body: FaqIn) -> FaqOut:
    entry = await support.update_faq(
        session, faq_id=faq_id, data=_input(body), actor_id=caller.actor_id
    )
    return FaqOut.of(entry)


@router.delete(
    "/faq/{faq_id:int}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(*COMMON, 404),
    summary="Delete an entry",
    openapi_extra=scope_doc("faq:write"),
)
async def delete_faq(session: SessionDep, caller: Writer, faq_id: FaqId) -> Response:
    await support.delete_faq(session, faq_id=faq_id, actor_id=caller.actor_id)
    return Response(status_code=204)


@router.post(
    "/faq/reorder",
    response_model=FaqList,
    responses=problem_responses(*COMMON),
    summary="Reorder the entries of a language",
    openapi_extra=scope_doc("faq:write"),
)
async def reorder_faq(
    session: SessionDep,
    caller: Writer,
    body: ReorderIn,
    idempotency_key: IdempotencyKey = None,
) -> FaqList:
    entries = await support.reorder_faq(
        session, language=body.language, ids=body.ids, actor_id=caller.actor_id
    )
    return FaqList(items=[FaqOut.of(e) for e in entries])
