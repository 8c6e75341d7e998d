"""Support Hub pages: the hub, the bug form, my bugs, a bug's page and its screenshot."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from devops_center.errors import Invalid, NotFound, RateLimited
from devops_center.i18n import gettext, lazy
from devops_center.notify import links as bot_links
from devops_center.support import service as support
from devops_center.support import uploads
from devops_center.support.models import PRIORITIES, STATUSES
from devops_center.users import service as users
from devops_center.web.deps import LangDep, SessionDep, SettingsDep, UserDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

PAGE_SIZE = 20
FIELDS = ("title", "what_doing", "expected", "actual", "priority")


@router.get("/support")
async def support_home(
    request: Request, session: SessionDep, settings: SettingsDep, user: UserDep, lang: LangDep
) -> Response:
    counts = await support.bug_counts_by_status(session, user_id=user.id)
    top = await support.top_faq(session, language=lang, limit=5)
    context = {"counts": counts, "total": sum(counts.values()), "top_faq": top}
    context["telegram"] = await bot_links.deep_links(session, settings, "bug", "faq")
    return render(request, "support/home.html", {**context, "statuses": STATUSES})


def _form_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
    telegram: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "support/bug_form.html",
        {
            "values": values,
            "errors": errors or {},
            "priorities": PRIORITIES,
            "telegram": telegram or {},
        },
        status_code=status_code,
    )


@router.get("/support/bug")
async def bug_form(
    request: Request, session: SessionDep, settings: SettingsDep, user: UserDep, title: str = ""
) -> Response:
    values = dict.fromkeys(FIELDS, "")
    values["priority"] = "medium"
    values["title"] = title[:200]
    values["client_token"] = secrets.token_urlsafe(16)
    return _form_page(
        request, values, telegram=await bot_links.deep_links(session, settings, "bug")
    )


@router.post("/support/bug")
async def file_bug(
    request: Request, session: SessionDep, settings: SettingsDep, user: UserDep, lang: LangDep
) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in FIELDS}
    values["client_token"] = str(form.get("client_token") or "")[:64]
    upload = form.get("screenshot")
    image = None
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        image = await upload.read(settings.max_upload_bytes + 1)
    report = support.BugReport(
        **{name: values[name] for name in FIELDS if name != "priority"},
        priority=values["priority"] or "medium",
        screenshot=image,
        client_token=values["client_token"],
    )
    try:
        filed = await support.file_bug(
            session, settings=settings, reporter_id=user.id, report=report, source="web"
        )
    except Invalid as exc:
        errors = {k: gettext(lang, v, **exc.params) for k, v in exc.fields.items()}
        return _form_page(request, values, errors, status_code=422)
    except RateLimited as exc:
        return render(
            request,
            "support/rate_limited.html",
            {"message": gettext(lang, exc.message, **exc.params)},
            status_code=429,
            headers={"retry-after": str(exc.retry_after)},
        )
    return RedirectResponse(f"/support/bugs/{filed.bug.id}?new=1", status_code=303)


@router.get("/support/my-bugs")
async def my_bugs(request: Request, session: SessionDep, user: UserDep, page: int = 1) -> Response:
    page = max(1, min(page, 10_000))
    bugs, total = await support.my_bugs(
        session, user_id=user.id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(
        request,
        "support/my_bugs.html",
        {"bugs": bugs, "total": total, "page": page, "pages": pages, **_github(request)},
    )


def _github(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    repo = settings.github_repo
    web = "https://github.com"
    if settings.github_api_url.rstrip("/") not in ("https://api.github.com",):
        web = settings.github_api_url.removesuffix("/api/v3")
    return {"github_issue_base": f"{web}/{repo}/issues/" if repo else None}


@router.get("/support/bugs/{bug_id}")
async def bug_page(
    request: Request, session: SessionDep, user: UserDep, bug_id: int, new: int = 0
) -> Response:
    bug = await support.get_bug_for(session, bug_id=bug_id, viewer=user)
    reporter = await users.get_user(session, user_id=bug.user_id)
    assignee = await users.get_user(session, user_id=bug.assigned_to) if bug.assigned_to else None
    return render(
        request,
        "support/bug_detail.html",
        {
            "bug": bug,
            "new": bool(new),
            "reporter": reporter,
            "assignee": assignee,
            **_github(request),
        },
    )


@router.get("/support/bugs/{bug_id}/screenshot")
async def bug_screenshot(
    session: SessionDep, settings: SettingsDep, user: UserDep, bug_id: int
) -> Response:
    bug = await support.get_bug_for(session, bug_id=bug_id, viewer=user)
    if not bug.screenshot_key:
        raise NotFound(lazy("No such screenshot"))
    stored = uploads.open_image(settings, bug.screenshot_key)
    ext = stored.filename.rsplit(".", 1)[1]
    return FileResponse(
        stored.path,
        media_type=stored.content_type,
        headers={
            "content-disposition": f'inline; filename="bug-{bug.id}-screenshot.{ext}"',
            "cache-control": "private, max-age=3600",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )
