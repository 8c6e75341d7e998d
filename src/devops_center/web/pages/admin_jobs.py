"""``/admin/jobs``: the background queue at a glance — counts by status, and every job that
needs a person: failed (retries used up, or refused) and parked (this code cannot run it:
an unknown kind or a payload that no longer validates), each with its error and a Retry
button."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from devops_center.i18n import lazy
from devops_center.outbox import service as outbox
from devops_center.web.deps import AdminDep, RowId, SessionDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

STATUS_LABELS = {
    "pending": lazy("Waiting"),
    "running": lazy("Running"),
    "done": lazy("Done"),
    "failed": lazy("Failed"),
    "parked": lazy("Parked"),
}


@router.get("/admin/jobs")
async def jobs_page(
    request: Request, user: AdminDep, session: SessionDep, done: str | None = None
) -> Response:
    counts = await outbox.queue_counts(session)
    attention = await outbox.list_jobs(session, statuses=["failed", "parked"], limit=100)
    context = {"counts": counts, "jobs": attention, "done": done, "labels": STATUS_LABELS}
    return render(request, "admin/jobs.html", context)


@router.post("/admin/jobs/{job_id}/retry")
async def retry(job_id: RowId, user: AdminDep, session: SessionDep) -> Response:
    await outbox.retry_job(session, job_id=job_id)
    return RedirectResponse("/admin/jobs?done=retry", status_code=303)
