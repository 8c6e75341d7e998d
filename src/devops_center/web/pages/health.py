"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from devops_center.support import uploads
from devops_center.web.deps import get_sessionmaker

router = APIRouter(tags=["health"])


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """Browsers ask for it on every page: "none", cached, instead of a 404 in the console."""
    return Response(status_code=204, headers={"cache-control": "public, max-age=604800"})


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers within 3 seconds and screenshots can be stored,
    else 503 with the reason."""
    problem = await asyncio.to_thread(uploads.storage_problem, request.app.state.settings)
    if problem is not None:
        return JSONResponse({"status": "unavailable", "uploads": problem}, status_code=503)
    try:
        async with asyncio.timeout(3):
            async with get_sessionmaker(request)() as session:
                await session.execute(text("SELECT 1"))
    except TimeoutError:
        return JSONResponse({"status": "unavailable", "database": "timeout"}, status_code=503)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return JSONResponse({"status": "unavailable", "database": reason}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "uploads": "ok"})
