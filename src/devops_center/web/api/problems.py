"""RFC 9457 problem details: the one shape of every error the JSON API answers.

``{"type", "title", "status", "detail", "instance"}`` as ``application/problem+json``,
plus, where they apply: ``errors`` (every invalid field of a 422: ``field``, ``loc``,
``msg``, ``type``), ``required_scope`` (403), ``reference`` (500, the log line's).
``type`` is ``about:blank`` (the status says it all) or one of :data:`TYPES`,
documented in docs/api.md. ``detail`` is in the language of ``Accept-Language``
(Russian or English; English without one).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from devops_center import i18n

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"
TAG = "tag:dcc.devops-command-center,2026:problem:"
TYPES = {
    "validation": TAG + "validation",  # 422: see ``errors``
    "scope": TAG + "scope",  # 403: the token lacks ``required_scope``
    "rate-limited": TAG + "rate-limited",  # 429: see Retry-After and RateLimit-*
    "idempotency-in-progress": TAG + "idempotency-in-progress",  # 409
    "idempotency-mismatch": TAG + "idempotency-mismatch",  # 422
    "conflict": TAG + "conflict",  # 409: the change clashes with stored data
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def api_language(request: Request) -> str:
    """The language of API messages: Accept-Language if it names ru or en, else en."""
    return i18n.negotiate_accept_language(request.headers.get("accept-language"), "en") or "en"


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(
    request: Request | None,
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPES.get(type_, type_),
        "title": title_of(status),
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def field_of(loc: list[str | int] | tuple[str | int, ...]) -> str:
    """``["body", "title"]`` → ``title``; ``["query", "limit"]`` → ``limit``."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request"


def validation_problem(
    request: Request, errors: list[dict[str, Any]], *, detail: str | None = None
) -> JSONResponse:
    """422 naming every invalid field (``detail``: the message, else the field names)."""
    lang = api_language(request)
    items: list[dict[str, Any]] = [
        {
            "field": field_of(e.get("loc") or []),
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc") or []],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]
    names = ", ".join(dict.fromkeys(str(item["field"]) for item in items))
    if names:
        suffix = i18n.gettext(lang, "Invalid fields: %(fields)s", fields=names)
        detail = f"{detail} ({suffix})" if detail else suffix
    detail = detail or i18n.gettext(lang, "Invalid request")
    return problem(request, 422, detail, type_="validation", errors=items)


# ------------------------------------------------------------------------ OpenAPI

_ERROR_ITEM = {
    "type": "object",
    "required": ["field", "loc", "msg", "type"],
    "properties": {
        "field": {"type": "string", "description": "The invalid field, e.g. `title`"},
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
    },
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "`about:blank` or a problem type URI"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": _ERROR_ITEM},
        "required_scope": {"type": "string"},
        "reference": {"type": "string"},
    },
}
_DESCRIPTIONS = {
    400: "The request is malformed (not JSON, a bad Idempotency-Key)",
    401: "Missing, invalid, expired or revoked token",
    403: "The token lacks the scope (see `required_scope`), or the user may not",
    404: "No such thing, or not visible to this caller",
    409: "A conflict with stored data, or the same Idempotency-Key still running",
    413: "The body is too large",
    415: "Unsupported content type",
    422: "Invalid fields (every one in `errors`), or an Idempotency-Key reused",
    429: "Rate limit spent: see Retry-After and RateLimit-*",
}


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these statuses (and any other 4xx / 5xx) as problems."""
    out: dict[int | str, dict[str, Any]] = {
        code: problem_response(_DESCRIPTIONS.get(code, title_of(code))) for code in codes
    }
    out["4XX"] = problem_response("Any other client error")
    out["5XX"] = problem_response("A server error (`reference` names the log entry)")
    return out


COMMON = (400, 401, 403, 422, 429)
