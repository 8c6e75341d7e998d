"""FAQ management for owners and superadmins: entries, order, categories."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from devops_center.brain import insights
from devops_center.errors import Invalid
from devops_center.i18n import SUPPORTED, gettext
from devops_center.support import service as support
from devops_center.web.deps import AdminDep, LangDep, RowId, SessionDep, SettingsDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

Short = Annotated[str, Form(max_length=2_000)]


@router.get("/admin/faq")
async def faq_admin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    lang: LangDep,
    language: str = "",
) -> Response:
    language = language if language in SUPPORTED else lang
    entries = await support.faq_entries(session, language=language)
    summary = await support.faq_category_summary(session)
    return render(
        request,
        "admin/faq.html",
        {
            "entries": entries,
            "language": language,
            "categories": [(c, n) for lg, c, n in summary if lg == language],
            "languages": SUPPORTED,
            "msg": request.query_params.get("msg", ""),
            "brain": await insights.dashboard(session, model=settings.embedding_model),
        },
    )


def _edit_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    entry_id: int | None = None,
    categories: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/faq_edit.html",
        {
            "values": values,
            "errors": errors or {},
            "entry_id": entry_id,
            "categories": categories or [],
            "languages": SUPPORTED,
        },
        status_code=status_code,
    )


async def _categories(session: SessionDep) -> list[str]:
    return sorted({c for _lg, c, _n in await support.faq_category_summary(session)})


@router.get("/admin/faq/new")
async def faq_new(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    language: str = "",
    question: str = "",
) -> Response:
    values = {
        "category": "",
        "question": question.strip()[:1000],  # prefilled from /admin/faq/gaps
        "answer": "",
        "language": language if language in SUPPORTED else lang,
        "order_index": "",
    }
    return _edit_page(request, values, categories=await _categories(session))


class FaqForm(BaseModel):
    """The entry form as posted; kept as typed, so a refused form is shown again as is."""

    category: str = Field("", max_length=2_000)
    question: str = Field("", max_length=2_000)
    answer: str = Field("", max_length=20_000)
    language: str = Field("", max_length=5)
    order_index: str = Field("", max_length=12)

    def data(self) -> support.FaqInput:
        order = self.order_index.strip()
        return support.FaqInput(
            category=self.category,
            question=self.question,
            answer=self.answer,
            language=self.language,
            order_index=int(order) if order.lstrip("-").isdigit() and len(order) < 9 else None,
        )


FaqFormDep = Annotated[FaqForm, Form()]


async def _save(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: str,
    form: FaqForm,
    *,
    faq_id: int | None = None,
) -> Response:
    """Create (``faq_id`` None) or update an entry; a refused form comes back with errors."""
    try:
        if faq_id is None:
            entry = await support.create_faq(session, data=form.data(), actor_id=admin.id)
        else:
            entry = await support.update_faq(
                session, faq_id=faq_id, data=form.data(), actor_id=admin.id
            )
    except Invalid as exc:
        errors = {k: gettext(lang, v) for k, v in exc.fields.items()}
        return _edit_page(
            request,
            form.model_dump(),
            errors,
            entry_id=faq_id,
            categories=await _categories(session),
            status_code=422,
        )
    return RedirectResponse(f"/admin/faq?language={entry.language}&msg=saved", status_code=303)


@router.post("/admin/faq/new")
async def faq_create(
    request: Request, session: SessionDep, admin: AdminDep, lang: LangDep, form: FaqFormDep
) -> Response:
    return await _save(request, session, admin, lang, form)


@router.get("/admin/faq/{faq_id}")
async def faq_edit(
    request: Request, session: SessionDep, admin: AdminDep, faq_id: RowId
) -> Response:
    entry = await support.get_faq(session, faq_id=faq_id)
    values = {
        "category": entry.category,
        "question": entry.question,
        "answer": entry.answer,
        "language": entry.language,
        "order_index": str(entry.order_index),
    }
    return _edit_page(request, values, entry_id=entry.id, categories=await _categories(session))


@router.post("/admin/faq/{faq_id}")
async def faq_update(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    faq_id: RowId,
    form: FaqFormDep,
) -> Response:
    return await _save(request, session, admin, lang, form, faq_id=faq_id)


@router.post("/admin/faq/{faq_id}/delete")
async def faq_delete(session: SessionDep, admin: AdminDep, faq_id: RowId) -> Response:
    entry = await support.get_faq(session, faq_id=faq_id)
    language = entry.language
    await support.delete_faq(session, faq_id=faq_id, actor_id=admin.id)
    return RedirectResponse(f"/admin/faq?language={language}&msg=deleted", status_code=303)


@router.post("/admin/faq/{faq_id}/move")
async def faq_move(
    session: SessionDep,
    admin: AdminDep,
    faq_id: RowId,
    direction: Annotated[str, Form(max_length=5)] = "down",
) -> Response:
    entry = await support.move_faq(
        session, faq_id=faq_id, direction=1 if direction == "down" else -1, actor_id=admin.id
    )
    return RedirectResponse(f"/admin/faq?language={entry.language}#faq-{faq_id}", status_code=303)


@router.post("/admin/faq-categories/rename")
async def category_rename(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    lang: LangDep,
    language: Annotated[str, Form(max_length=5)] = "",
    old: Short = "",
    new: Short = "",
) -> Response:
    try:
        await support.rename_category(
            session, language=language, old=old, new=new, actor_id=admin.id
        )
    except Invalid as exc:
        return render(
            request,
            "error.html",
            {
                "status_code": 422,
                "title": gettext(lang, "Request refused"),
                "message": gettext(lang, exc.message),
            },
            status_code=422,
        )
    return RedirectResponse(f"/admin/faq?language={language}&msg=saved", status_code=303)


@router.post("/admin/faq-categories/delete")
async def category_delete(
    session: SessionDep,
    admin: AdminDep,
    language: Annotated[str, Form(max_length=5)] = "",
    category: Short = "",
) -> Response:
    await support.delete_category(session, language=language, category=category, actor_id=admin.id)
    return RedirectResponse(f"/admin/faq?language={language}&msg=deleted", status_code=303)
