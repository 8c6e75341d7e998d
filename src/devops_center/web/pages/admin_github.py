"""``/admin/github``: is the integration on (and why not), webhook deliveries, failed GitHub
jobs with a Retry button, the mirror's counts and open issues (``?sort=impact``: the
highest impact score first). ``/admin/github/panel`` is the same summary
as an HTML fragment for the DevOps dashboard (``hx-get``, ``hx-trigger="load"``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.github import presenter as github_view
from devops_center.github import sync as github_sync
from devops_center.github import webhooks as github_webhooks
from devops_center.web.deps import AdminDep, ReaderDep, RowId, SessionDep, SettingsDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


@router.get("/admin/github")
async def github_admin(
    request: Request,
    user: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    done: str | None = None,
    sort: str = "newest",
) -> Response:
    view = await github_view.overview(session, settings, sort=sort)
    return render(request, "admin/github.html", {"view": view, "done": done})


@router.get("/admin/github/panel")
async def github_panel(
    request: Request, user: ReaderDep, session: SessionDep, settings: SettingsDep
) -> Response:
    view = await github_view.overview(session, settings, limit=5)
    # The dashboard supplies the heading around the fragment.
    return render(request, "admin/_github_panel.html", {"view": view, "fragment": True})


@router.post("/admin/github/jobs/{job_id}/retry")
async def retry_job(job_id: RowId, user: AdminDep, session: SessionDep) -> Response:
    await github_view.retry_github_job(session, job_id=job_id)
    return RedirectResponse("/admin/github?done=retry", status_code=303)


@router.post("/admin/github/deliveries/{delivery_id}/replay")
async def replay_delivery(delivery_id: RowId, user: AdminDep, session: SessionDep) -> Response:
    await github_webhooks.replay_delivery(session, delivery_pk=delivery_id)
    return RedirectResponse("/admin/github?done=replay", status_code=303)


@router.post("/admin/github/sync")
async def sync_now(user: AdminDep, session: SessionDep, settings: SettingsDep) -> Response:
    if settings.github_enabled().enabled:
        await github_sync.request_sync(session)
    return RedirectResponse("/admin/github?done=sync", status_code=303)
