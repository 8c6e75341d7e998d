"""The FAQ: categories, full-text search as you type (HTMX), an entry page, votes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.brain import answers
from devops_center.support import service as support
from devops_center.web.deps import LangDep, RowId, SessionDep, SettingsDep, UserDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

SEARCH_LIMIT = 20  # the best answers; more is noise on a phone


def _is_htmx(request: Request) -> bool:
    """An in-page HTMX request (a history restore wants the whole page)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


@router.get("/support/faq")
async def faq(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    lang: LangDep,
    q: str = "",
    category: str = "",
) -> Response:
    q = q.strip()[:200]
    htmx = _is_htmx(request)
    # Search as you type (HTMX) needs no category list: don't compute it on every key.
    categories = (
        [] if htmx and not category else await support.faq_categories(session, language=lang)
    )
    if category not in categories:
        category = ""
    if q:
        found = await answers.ask(
            session,
            q,
            language=lang,
            channel="faq_page",
            user_id=user.id,
            category=category or None,
            limit=SEARCH_LIMIT,
            model=settings.embedding_model,
        )
        entries: Sequence[object] = found.items
    else:
        entries = await support.faq_entries(session, language=lang, category=category or None)
    context: dict[str, object] = {"entries": entries, "q": q, "category": category}
    context |= {"categories": categories, "htmx": htmx}
    if htmx:
        return render(request, "support/_faq_results.html", context)
    return render(request, "support/faq.html", context)


@router.get("/support/faq/{faq_id}")
async def faq_entry(
    request: Request, session: SessionDep, user: UserDep, faq_id: RowId
) -> Response:
    entry = await support.open_faq(session, faq_id=faq_id, count_view=True)
    vote = await support.my_vote(session, faq_id=faq_id, user_id=user.id)
    return render(request, "support/faq_entry.html", {"entry": entry, "vote": vote})


@router.post("/support/faq/{faq_id}/vote")
async def faq_vote(
    request: Request,
    session: SessionDep,
    user: UserDep,
    faq_id: RowId,
    helpful: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    entry = await support.vote_faq(
        session, faq_id=faq_id, user_id=user.id, helpful=helpful in ("1", "yes", "true")
    )
    if _is_htmx(request):
        vote = await support.my_vote(session, faq_id=faq_id, user_id=user.id)
        return render(request, "support/_faq_vote.html", {"entry": entry, "vote": vote})
    return RedirectResponse(f"/support/faq/{faq_id}", status_code=303)
