"""``/api/docs``: Swagger UI for the JSON API, served from the package (no CDN).

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script;
our Content-Security-Policy blocks both, so the page stayed blank. This page loads the
vendored ``swagger-ui-dist`` files and a static initializer, under a CSP that allows
exactly those two scripts' origin (ours) and nothing inline.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from devops_center.web.deps import prepare_page
from devops_center.web.templating import render

router = APIRouter(dependencies=[Depends(prepare_page)], include_in_schema=False)

SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"
OPENAPI_URL = "/api/openapi.json"

# Scripts and styles from this site only; no inline script, no eval, no other origin.
# Swagger UI sets element styles from script (CSSOM), which style-src does not govern.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@router.get("/api/docs")
async def api_docs(request: Request) -> Response:
    return render(
        request,
        "api_docs.html",
        {"swagger_ui": SWAGGER_UI, "openapi_url": OPENAPI_URL},
        headers={"content-security-policy": DOCS_CSP},
    )
