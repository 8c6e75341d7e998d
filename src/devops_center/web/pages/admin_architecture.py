"""``/admin/architecture``: the module graph of a scan (drawn by static/js/architecture.js
from ``/api/v1/architecture``), its figures, and "Scan now" for the GitHub repository;
``/admin/architecture/module``: one module, what imports it and what it imports, the
changelog entries that changed it and the open bugs whose fixes touch it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.architecture import presenter
from devops_center.architecture import service as architecture
from devops_center.changelog import presenter as changelog_presenter
from devops_center.changelog import queries as changelog
from devops_center.web.deps import AdminDep, SessionDep, SettingsDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

NameQuery = Annotated[str | None, Query(max_length=300)]


@router.get("/admin/architecture")
async def architecture_page(
    request: Request,
    user: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    name: NameQuery = None,
    done: str | None = None,
) -> Response:
    view = await presenter.overview(session, settings, name=name)
    return render(request, "admin/architecture.html", {"view": view, "done": done})


@router.get("/admin/architecture/module")
async def module_page(
    request: Request,
    user: AdminDep,
    session: SessionDep,
    name: NameQuery = None,
    scan: NameQuery = None,
) -> Response:
    if not name:
        return RedirectResponse("/admin/architecture", status_code=303)
    page = await presenter.module_page(session, scan_name=scan, name=name)
    touching = await changelog.module_changes(session, module_path=page.view.module.path)
    page.changes, page.open_bugs = touching.entries, touching.open_bugs
    lang: str = request.state.lang
    return render(
        request,
        "admin/architecture_module.html",
        {"page": page, "type_names": changelog_presenter.type_names(lang)},
    )


@router.post("/admin/architecture/scan")
async def scan_now(user: AdminDep, session: SessionDep, settings: SettingsDep) -> Response:
    if not settings.github_enabled().enabled:
        return RedirectResponse("/admin/architecture?done=off", status_code=303)
    queued = await architecture.enqueue_github_scan(session, force=True)
    query = {"name": settings.github_repo or "", "done": "queued" if queued else "waiting"}
    return RedirectResponse(f"/admin/architecture?{urlencode(query)}", status_code=303)
