"""Placeholder hub page until the Support Hub lands (issue: support hub on the web)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from devops_center.web.deps import UserDep, prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)


@router.get("/support")
async def support_home(request: Request, user: UserDep) -> Response:
    return render(request, "support/home.html", {})
