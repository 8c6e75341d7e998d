"""Support Hub pages: the hub, the bug form, my bugs, a bug's page (its conversation and
timeline, replies, closing it) and its images."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from devops_center.brain import answers, presenter
from devops_center.changelog import queries as changelog
from devops_center.config import Settings
from devops_center.errors import Invalid, NotFound, RateLimited
from devops_center.i18n import gettext, lazy
from devops_center.notify import links as bot_links
from devops_center.support import service as support
from devops_center.support import uploads
from devops_center.support.models import PRIORITIES, STATUSES, BugLog
from devops_center.users import service as users
from devops_center.users.models import User
from devops_center.web.deps import LangDep, RowId, SessionDep, SettingsDep, UserDep, prepare_page
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
    context["news"] = await changelog.news(session, lang=lang)
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


@router.get("/support/bug/suggest")
async def bug_suggestions(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    lang: LangDep,
    title: str = "",
    actual: str = "",
    client_token: str = "",
) -> Response:
    """Answers and known issues for the bug being written (HTMX, as the user types)."""
    if len(title.strip()) + len(actual.strip()) < 3:  # nothing to look for yet
        return Response(status_code=200)
    found = await answers.ask(
        session,
        f"{title.strip()[:200]}. {actual.strip()[:300]}".strip(". "),
        language=lang,
        channel="bug_form",
        user_id=user.id,
        limit=3,
        issues=True,
        form_token=client_token[:64] or None,
        model=settings.embedding_model,
    )
    lines = [presenter.issue_line(i, lang) for i in found.issues]
    return render(request, "support/_bug_suggestions.html", {"found": found, "issues": lines})


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
    return {
        "github_issue_base": f"{web}/{repo}/issues/" if repo else None,
        "github_on": settings.github_enabled().enabled,
    }


async def _bug_page(
    request: Request,
    session: SessionDep,
    user: User,
    bug_id: int,
    *,
    new: bool = False,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    bug = await support.get_bug_for(session, bug_id=bug_id, viewer=user)
    team = support.is_team(user)
    reporter = await users.get_user(session, user_id=bug.user_id)
    assignee = await users.get_user(session, user_id=bug.assigned_to) if bug.assigned_to else None
    timeline = await support.timeline(session, bug_id=bug.id, viewer_id=user.id, team=team)
    names = await support.people_names(session, {item.actor_id for item in timeline})
    form = {"body": "", "client_token": secrets.token_urlsafe(16), **(values or {})}
    return render(
        request,
        "support/bug_detail.html",
        {
            "bug": bug,
            "new": new,
            "reporter": reporter,
            "assignee": assignee,
            "timeline": timeline,
            "names": names,
            "team": team,
            "mine": bug.user_id == user.id,
            "form": form,
            "errors": errors or {},
            **_github(request),
        },
        status_code=status_code,
    )


@router.get("/support/bugs/{bug_id}")
async def bug_page(
    request: Request, session: SessionDep, user: UserDep, bug_id: RowId, new: int = 0
) -> Response:
    return await _bug_page(request, session, user, bug_id, new=bool(new))


async def _comment_form(
    request: Request, settings: Settings
) -> tuple[dict[str, str], bytes | None]:
    """The comment form's fields as typed (shown again when refused) and its image, read
    up to one byte over the limit so that the service can refuse a larger one."""
    form = await request.form()
    values = {
        "body": str(form.get("body") or ""),
        "client_token": str(form.get("client_token") or "")[:64],
        "internal": "1" if form.get("internal") else "",
    }
    upload = form.get("attachment")
    image = None
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        image = await upload.read(settings.max_upload_bytes + 1)
    return values, image


@router.post("/support/bugs/{bug_id}/comments")
async def add_comment(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    lang: LangDep,
    bug_id: RowId,
) -> Response:
    """A reply on the bug's page (the reporter's, or the team's, maybe an internal note)."""
    values, image = await _comment_form(request, settings)
    try:
        added = await support.add_comment(
            session,
            settings=settings,
            bug_id=bug_id,
            author_id=user.id,
            team=support.is_team(user),
            data=support.CommentInput(
                body=values["body"],
                internal=bool(values["internal"]),
                attachment=image,
                client_token=values["client_token"],
            ),
            source="web",
        )
    except Invalid as exc:
        errors = {k: gettext(lang, v, **exc.params) for k, v in exc.fields.items()}
        return await _bug_page(
            request, session, user, bug_id, values=values, errors=errors, status_code=422
        )
    except RateLimited as exc:
        errors = {"body": gettext(lang, exc.message, **exc.params)}
        return await _bug_page(
            request, session, user, bug_id, values=values, errors=errors, status_code=429
        )
    return RedirectResponse(f"/support/bugs/{bug_id}#comment-{added.comment.id}", status_code=303)


@router.post("/support/bugs/{bug_id}/close")
async def close_bug(session: SessionDep, user: UserDep, bug_id: RowId) -> Response:
    """The reporter closes their own bug."""
    await support.close_own_bug(session, bug_id=bug_id, reporter_id=user.id, source="web")
    return RedirectResponse(f"/support/bugs/{bug_id}#timeline", status_code=303)


@router.get("/support/bugs/{bug_id}/comments/{comment_id}/attachment")
async def comment_attachment(
    session: SessionDep, settings: SettingsDep, user: UserDep, bug_id: RowId, comment_id: RowId
) -> Response:
    stored = await support.comment_attachment(
        session,
        settings,
        bug_id=bug_id,
        comment_id=comment_id,
        viewer_id=user.id,
        team=support.is_team(user),
    )
    ext = stored.filename.rsplit(".", 1)[1]
    return FileResponse(
        stored.path,
        media_type=stored.content_type,
        headers={
            "content-disposition": f'inline; filename="bug-{bug_id}-comment-{comment_id}.{ext}"',
            "cache-control": "private, max-age=3600",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/support/bugs/{bug_id}/screenshot")
async def bug_screenshot(
    session: SessionDep, settings: SettingsDep, user: UserDep, bug_id: RowId
) -> Response:
    bug = await support.get_bug_for(session, bug_id=bug_id, viewer=user)
    return screenshot_response(settings, bug)


def screenshot_response(settings: Settings, bug: BugLog) -> Response:
    """A bug's screenshot, inline, in a sandbox: for its reporter here and for triage."""
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
