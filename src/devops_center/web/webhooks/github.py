"""``POST /webhooks/github``: verify, store once, answer at once; the worker does the rest.

401 unsigned or badly signed (nothing stored) · 413 over 5 MB (refused before the body
is read) · 400 a signed body that is not a usable JSON object · 200 ``ping`` and repeats
of a delivery id (no second effect) · 202 stored (queued, or ``unhandled`` when no
handler knows the event) · 503 while ``GITHUB_WEBHOOK_SECRET`` is unset.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from devops_center.github import webhooks as github_webhooks
from devops_center.integrations.github import signature
from devops_center.integrations.github.events import MalformedEvent, parse_payload
from devops_center.web.deps import SettingsDep, get_sessionmaker
from devops_center.web.webhooks.common import BadPayload, decode_object

log = logging.getLogger("devops_center.webhooks")

router = APIRouter(include_in_schema=False)

MAX_BODY = 5 * 1024 * 1024


class TooLarge(Exception):
    pass


def _answer(code: int, /, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=code)


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    """JSON, or the ``payload`` field of GitHub's form-encoded content type."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            fields = parse_qs(body.decode("utf-8"), strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise BadPayload("not UTF-8") from exc
        body = (fields.get("payload") or [""])[0].encode()
    return decode_object(body)


@router.post("/webhooks/github")
async def github_webhook(request: Request, settings: SettingsDep) -> JSONResponse:
    if settings.github_webhook_secret is None:
        return _answer(503, detail="GITHUB_WEBHOOK_SECRET is not set: deliveries are refused")
    try:
        body = await _read_capped(request, MAX_BODY)
    except TooLarge:
        return _answer(413, detail="payload over 5 MB")
    secret = settings.github_webhook_secret.get_secret_value()
    if not signature.verify(secret, body, request.headers.get("x-hub-signature-256")):
        return _answer(401, detail="missing or invalid X-Hub-Signature-256")
    event = request.headers.get("x-github-event", "").strip()
    delivery_id = request.headers.get("x-github-delivery", "").strip()
    if not event or not delivery_id or len(delivery_id) > 100 or len(event) > 50:
        return _answer(400, detail="X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        payload = _decode(body, request.headers.get("content-type", "application/json"))
        parse_payload(event, payload)
    except (ValueError, MalformedEvent) as exc:
        return _answer(400, detail=f"unusable payload: {exc}"[:300])
    async with get_sessionmaker(request)() as session, session.begin():
        delivery = await github_webhooks.record_delivery(
            session, delivery_id=delivery_id, event=event, payload=payload
        )
    if delivery is None:
        return _answer(200, status="duplicate", delivery=delivery_id)
    if event == "ping":
        return _answer(200, status="pong", zen=str(payload.get("zen") or ""))
    return _answer(202, status=delivery.status, delivery=delivery_id)
