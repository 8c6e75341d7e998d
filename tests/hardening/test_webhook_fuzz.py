"""Hypothesis against the webhook receivers, over real HTTP.

Bodies: random bytes, truncated real payloads, valid JSON of the wrong shape, real
payloads; signatures valid, wrong, malformed or missing; any event name and delivery id.
Never a 5xx; nothing stored without a valid signature (GitHub) or secret (Telegram).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from devops_center.outbox.models import Job, WebhookDelivery
from devops_center.support.models import BugLog
from devops_center.users.models import User

pytestmark = pytest.mark.fuzz

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
EXAMPLES = 2000 if os.environ.get("DCC_FUZZ_LONG") == "1" else 150
GITHUB_SECRET = "fuzz-github-webhook-secret"
TELEGRAM_SECRET = "fuzz-telegram-secret_token-1"


def _real_payloads(folder: str, pattern: str) -> list[bytes]:
    for root in (FIXTURES / folder, SHARED / folder):
        found = sorted(root.glob(pattern)) if root.exists() else []
        if found:
            return [p.read_bytes() for p in found]
    return [b'{"zen": "Keep it logically awesome.", "hook_id": 1}']


GITHUB_BODIES = _real_payloads("github-webhooks", "*/*.json")
TELEGRAM_BODIES = _real_payloads("telegram", "*.json")


def _bodies(real: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(real),
        st.sampled_from(real).flatmap(
            lambda b: st.integers(0, max(0, len(b) - 1)).map(lambda n: b[:n])
        ),
        st.binary(max_size=2048),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=40),
            lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    )


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()


BAD_SIGNATURES = ["wrong", "malformed", "missing", "sha1"]


def github_requests(signatures: list[str]) -> st.SearchStrategy[tuple[bytes, str, str, str]]:
    return st.tuples(
        _bodies(GITHUB_BODIES),
        st.sampled_from(signatures),
        st.one_of(
            st.sampled_from(["issues", "workflow_run", "deployment_status", "ping", "push"]),
            st.text(max_size=30),
        ),
        st.one_of(st.uuids().map(str), st.text(max_size=80)),
    )


def telegram_requests(secrets: list[str]) -> st.SearchStrategy[tuple[bytes, str]]:
    return st.tuples(_bodies(TELEGRAM_BODIES), st.sampled_from(secrets))


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def _header_safe(value: str) -> str:
    """What an HTTP client can send at all: printable ASCII, no leading/trailing blanks."""
    return "".join(c for c in value if 32 < ord(c) < 127 or c == " ").strip()


def _fuzz_github(base_url: str, signatures: list[str]) -> tuple[int, list[str]]:
    accepted = 0
    problems: list[str] = []
    with httpx.Client(base_url=base_url, timeout=30) as c:

        @seed(20261128)
        @FUZZ_SETTINGS
        @given(github_requests(signatures))
        def run(req: tuple[bytes, str, str, str]) -> None:
            nonlocal accepted
            body, signature, event, delivery = req
            headers = {
                "content-type": "application/json",
                "x-github-event": _header_safe(event),
                "x-github-delivery": _header_safe(delivery),
            }
            if signature == "valid":
                headers["x-hub-signature-256"] = _sign(body)
            elif signature == "wrong":
                headers["x-hub-signature-256"] = _sign(body + b"x")
            elif signature == "malformed":
                headers["x-hub-signature-256"] = "sha256=zz" + _sign(body)[9:20]
            elif signature == "sha1":
                digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha1).hexdigest()
                headers["x-hub-signature"] = "sha1=" + digest
            response = c.post("/webhooks/github", content=body, headers=headers)
            if response.status_code >= 500:
                problems.append(f"{response.status_code} for {signature} {event!r}")
            if signature != "valid" and response.status_code < 400:
                problems.append(f"{response.status_code} accepted a {signature} signature")
            if signature == "valid" and response.status_code < 300:
                accepted += 1

        run()
    return accepted, problems


def _fuzz_telegram(base_url: str, secrets: list[str]) -> list[str]:
    problems: list[str] = []
    with httpx.Client(base_url=base_url, timeout=30) as c:

        @seed(20261128)
        @FUZZ_SETTINGS
        @given(telegram_requests(secrets))
        def run(req: tuple[bytes, str]) -> None:
            body, secret = req
            headers = {"content-type": "application/json"}
            if secret == "valid":
                headers["x-telegram-bot-api-secret-token"] = TELEGRAM_SECRET
            elif secret == "wrong":
                headers["x-telegram-bot-api-secret-token"] = TELEGRAM_SECRET[:-1] + "X"
            response = c.post("/webhooks/telegram", content=body, headers=headers)
            if response.status_code >= 500:
                problems.append(f"{response.status_code} for telegram {secret}")
            if secret != "valid" and response.status_code < 400:
                problems.append(f"{response.status_code} accepted a {secret} secret")

        run()
    return problems


async def _count(sessionmaker: Any, model: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def live_settings(settings: Any) -> Any:
    return settings.model_copy(
        update={
            "github_webhook_secret": _secret(GITHUB_SECRET),
            "telegram_bot_token": _secret("123456:fuzz-bot-token"),
            "telegram_webhook_secret": _secret(TELEGRAM_SECRET),
        }
    )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


async def _stored(sessionmaker: Any) -> dict[str, int]:
    return {
        m.__tablename__: await _count(sessionmaker, m) for m in (WebhookDelivery, Job, User, BugLog)
    }


async def test_github_webhook_fuzz(
    live_server_with: Any, live_settings: Any, sessionmaker: Any
) -> None:
    server = live_server_with(live_settings)
    before = await _stored(sessionmaker)
    _, problems = await asyncio.to_thread(_fuzz_github, server.url, BAD_SIGNATURES)
    assert not problems, "\n".join(sorted(set(problems))[:20])
    assert await _stored(sessionmaker) == before, "an unsigned request stored something"

    accepted, problems = await asyncio.to_thread(_fuzz_github, server.url, ["valid"])
    assert not problems, "\n".join(sorted(set(problems))[:20])
    # Every stored delivery came with a valid signature (a repeated id is stored once).
    assert 0 < await _count(sessionmaker, WebhookDelivery) <= accepted


async def test_telegram_webhook_fuzz(
    live_server_with: Any, live_settings: Any, sessionmaker: Any
) -> None:
    server = live_server_with(live_settings)
    before = await _stored(sessionmaker)
    problems = await asyncio.to_thread(_fuzz_telegram, server.url, ["wrong", "missing"])
    assert not problems, "\n".join(sorted(set(problems))[:20])
    assert await _stored(sessionmaker) == before, "a request without the secret stored something"

    problems = await asyncio.to_thread(_fuzz_telegram, server.url, ["valid"])
    assert not problems, "\n".join(sorted(set(problems))[:20])
