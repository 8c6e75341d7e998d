"""POST /webhooks/github with real payloads: signatures, de-duplication, issue events → bugs."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from devops_center import worker
from devops_center.github import webhooks
from devops_center.github.models import GithubIssue
from devops_center.integrations.github import signature
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job, WebhookDelivery
from devops_center.support.models import BugLog
from tests.conftest import make_settings
from tests.github.conftest import REPO, WEBHOOK_SECRET, file_bug

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"
ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def issue_payload(name: str, *, number: int, **issue_fields: Any) -> dict[str, Any]:
    """A real delivery, pointed at our repository and issue number."""
    payload = fixture(name)
    payload["repository"]["full_name"] = REPO
    payload["issue"]["number"] = number
    payload["issue"].update(issue_fields)
    return payload


async def deliver(
    client: httpx.AsyncClient,
    event: str,
    payload: Any,
    *,
    delivery: str | None = None,
    secret: str = WEBHOOK_SECRET,
    tamper: bool = False,
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sig = signature.sign(secret, body)
    if tamper:
        body = body.replace(b'"closed"', b'"open"', 1) + b" "
    return await client.post(
        "/webhooks/github",
        content=body,
        headers={
            "content-type": "application/json",
            "x-github-event": event,
            "x-github-delivery": delivery or str(uuid.uuid4()),
            "x-hub-signature-256": sig,
            "user-agent": "GitHub-Hookshot/test",
        },
    )


async def _linked_bug(sessionmaker: Any, user_id: int, number: int = 7, **kw: Any) -> BugLog:
    bug = await file_bug(sessionmaker, user_id, **kw)
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(BugLog).where(BugLog.id == bug.id).values(github_issue_number=number)
        )
    return bug


async def _process(settings: Any, sessionmaker: Any) -> int:
    return await worker.drain(settings, sessionmaker, kinds=[messages.ProcessGithubDelivery.kind])


async def _count(sessionmaker: Any, model: Any, *where: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# ------------------------------------------------------------------- signatures


def test_githubs_documented_test_vector() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature.sign("It's a Secret to Everybody", b"Hello, World!") == header
    assert signature.verify("It's a Secret to Everybody", b"Hello, World!", header)
    assert not signature.verify("It's a Secret to Everybody", b"Hello, World?", header)
    assert not signature.verify("other secret", b"Hello, World!", header)
    assert not signature.verify("It's a Secret to Everybody", b"Hello, World!", None)
    assert not signature.verify("It's a Secret to Everybody", b"Hello, World!", header[7:])


def test_a_real_signed_delivery_verifies() -> None:
    capture = fixture("signed.workflow_run.in_progress.json")
    raw = base64.b64decode(capture["body_raw_base64"])
    secret = "402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b"
    header = capture["headers"]["x-hub-signature-256"]
    assert signature.verify(secret, raw, header)
    assert not signature.verify(secret, json.dumps(json.loads(raw)).encode(), header)


# --------------------------------------------------------------------- receiver


async def test_signed_closed_resolves_the_bug_and_tampered_changes_nothing(
    settings, client, sessionmaker, people
) -> None:
    bug = await _linked_bug(sessionmaker, people["employee"].id)
    payload = issue_payload("issues.closed.json", number=7)

    tampered = await deliver(client, "issues", payload, tamper=True)
    assert tampered.status_code == 401
    assert await _count(sessionmaker, WebhookDelivery) == 0
    unsigned = await client.post(
        "/webhooks/github",
        content=json.dumps(payload).encode(),
        headers={"x-github-event": "issues", "x-github-delivery": "d-unsigned"},
    )
    assert unsigned.status_code == 401
    await _process(settings, sessionmaker)
    async with sessionmaker() as s:
        assert (await s.get(BugLog, bug.id)).status == "open"  # type: ignore[union-attr]

    response = await deliver(client, "issues", payload, delivery="d-closed")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "received", "delivery": "d-closed"}
    assert await _process(settings, sessionmaker) == 1
    async with sessionmaker() as s:
        stored = await s.get(BugLog, bug.id)
        delivery = (await s.execute(select(WebhookDelivery))).scalar_one()
        mirrored = (await s.execute(select(GithubIssue))).scalar_one()
        notes = (await s.execute(select(Job).where(Job.kind == "notify.user"))).scalars().all()
    assert stored is not None and stored.status == "resolved" and stored.resolved_at is not None
    assert (delivery.status, delivery.event, delivery.action) == ("processed", "issues", "closed")
    assert (mirrored.number, mirrored.state, mirrored.title) == (7, "closed", "Needs content")
    assert [n.payload["event"] for n in notes] == ["bug_status"]
    assert notes[0].payload["new"] == "resolved"


async def test_repeated_delivery_has_no_second_effect(
    settings, client, sessionmaker, people
) -> None:
    await _linked_bug(sessionmaker, people["employee"].id)
    payload = issue_payload("issues.closed.json", number=7)
    assert (await deliver(client, "issues", payload, delivery="same")).status_code == 202
    again = await deliver(client, "issues", payload, delivery="same")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert await _count(sessionmaker, WebhookDelivery) == 1
    assert await _count(sessionmaker, Job, Job.kind == messages.ProcessGithubDelivery.kind) == 1
    await _process(settings, sessionmaker)
    assert await _count(sessionmaker, Job, Job.kind == "notify.user") == 1


@ONLY_SQLITE
async def test_issue_actions_update_the_linked_bug(settings, client, sessionmaker, people) -> None:
    bug = await _linked_bug(sessionmaker, people["employee"].id, number=3)
    stamps = iter(f"2030-01-01T00:00:{n:02d}Z" for n in range(60))

    async def send(name: str, **fields: Any) -> BugLog:
        payload = issue_payload(name, number=3, updated_at=next(stamps), **fields)
        assert (await deliver(client, "issues", payload)).status_code == 202
        await _process(settings, sessionmaker)
        async with sessionmaker() as s:
            found = await s.get(BugLog, bug.id)
            assert found is not None
            return found

    assert (await send("assigned.payload.json")).status == "in_progress"
    closed = await send("issues.closed.json")
    assert closed.status == "resolved" and closed.resolved_at is not None
    reopened = await send("reopened.payload.json")
    assert reopened.status == "open" and reopened.resolved_at is None
    labeled = fixture("labeled.payload.json")
    labeled["label"]["name"] = "priority:high"
    labeled["repository"]["full_name"] = REPO
    labeled["issue"].update(number=3, updated_at=next(stamps))
    assert (await deliver(client, "issues", labeled)).status_code == 202
    await _process(settings, sessionmaker)
    async with sessionmaker() as s:
        assert (await s.get(BugLog, bug.id)).priority == "high"  # type: ignore[union-attr]
    await send("edited.payload.json", title="A clearer title")
    async with sessionmaker() as s:
        mirrored = (
            await s.execute(select(GithubIssue).where(GithubIssue.number == 3))
        ).scalar_one()
    assert mirrored.title == "A clearer title"

    deleted = issue_payload("edited.payload.json", number=3, updated_at=next(stamps))
    deleted["action"] = "deleted"
    assert (await deliver(client, "issues", deleted)).status_code == 202
    await _process(settings, sessionmaker)
    assert await _count(sessionmaker, GithubIssue) == 0


@ONLY_SQLITE
async def test_stale_and_foreign_deliveries_change_nothing(
    settings, client, sessionmaker, people
) -> None:
    bug = await _linked_bug(sessionmaker, people["employee"].id, number=5)
    newer = issue_payload("reopened.payload.json", number=5, updated_at="2030-01-02T00:00:00Z")
    older = issue_payload("issues.closed.json", number=5, updated_at="2030-01-01T00:00:00Z")
    await deliver(client, "issues", newer)
    await deliver(client, "issues", older)  # arrives late: ignored
    foreign = issue_payload("issues.closed.json", number=5)
    foreign["repository"]["full_name"] = "someone/else"
    await deliver(client, "issues", foreign)
    assert await _process(settings, sessionmaker) == 3
    async with sessionmaker() as s:
        assert (await s.get(BugLog, bug.id)).status == "open"  # type: ignore[union-attr]


@ONLY_SQLITE
async def test_marker_links_an_issue_to_its_bug(settings, client, sessionmaker, people) -> None:
    bug = await file_bug(sessionmaker, people["employee"].id)
    body = f"<!-- dcc-bug:{bug.id} -->\nsomething"
    await deliver(client, "issues", issue_payload("issues.closed.json", number=11, body=body))
    await _process(settings, sessionmaker)
    async with sessionmaker() as s:
        stored = await s.get(BugLog, bug.id)
    assert stored is not None and (stored.github_issue_number, stored.status) == (11, "resolved")
    async with sessionmaker() as s:
        notes = (await s.execute(select(Job).where(Job.kind == "notify.user"))).scalars().all()
    assert sorted(n.payload["event"] for n in notes) == ["bug_github_issue", "bug_status"]


@ONLY_SQLITE
async def test_ping_bad_input_and_refusals(
    settings, client, sessionmaker, db_url, tmp_path
) -> None:
    pong = await deliver(client, "ping", fixture("ping.payload.json"))
    assert pong.status_code == 200 and pong.json()["status"] == "pong"

    bad_json = await deliver(client, "issues", b"{not json")
    assert bad_json.status_code == 400
    not_object = await deliver(client, "issues", b"[1, 2]")
    assert not_object.status_code == 400
    half = fixture("issues.closed.json")
    del half["issue"]["number"]
    assert (await deliver(client, "issues", half)).status_code == 400
    no_id = await client.post(
        "/webhooks/github",
        content=b"{}",
        headers={
            "x-github-event": "issues",
            "x-hub-signature-256": signature.sign(WEBHOOK_SECRET, b"{}"),
        },
    )
    assert no_id.status_code == 400
    assert await _count(sessionmaker, WebhookDelivery) == 1  # the ping only
    assert await _count(sessionmaker, Job) == 0

    big = b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    assert (await deliver(client, "issues", big)).status_code == 413

    from devops_center.web.app import create_app

    app = create_app(make_settings(db_url, tmp_path), sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
        refused = await deliver(other, "issues", fixture("issues.closed.json"))
    assert refused.status_code == 503
    assert "GITHUB_WEBHOOK_SECRET" in refused.json()["detail"]


@ONLY_SQLITE
async def test_events_without_handler_are_kept_and_replayable(
    settings, client, sessionmaker
) -> None:
    payload = {"action": "started", "repository": {"full_name": REPO}, "sender": {"login": "x"}}
    response = await deliver(client, "star", payload, delivery="d-star")
    assert response.status_code == 202 and response.json()["status"] == "received"
    # The worker (which knows every feature's handlers) finds none and keeps it.
    await _process(settings, sessionmaker)
    async with sessionmaker() as s:
        assert (await s.execute(select(WebhookDelivery.status))).scalar_one() == "unhandled"

    seen: list[tuple[str, str | None, str]] = []

    async def on_star(session: Any, event: webhooks.WebhookEvent) -> None:
        seen.append((event.name, event.action, event.delivery_id))

    webhooks.register_event_handler("star", on_star)
    try:
        async with sessionmaker() as s, s.begin():
            assert await webhooks.replay_unhandled(s) == 1
        await _process(settings, sessionmaker)
    finally:
        webhooks.EVENT_HANDLERS.pop("star")
    assert seen == [("star", "started", "d-star")]
    async with sessionmaker() as s:
        delivery = (await s.execute(select(WebhookDelivery))).scalar_one()
    assert delivery.status == "processed"


@ONLY_SQLITE
async def test_a_failing_handler_is_recorded_and_retried(settings, client, sessionmaker) -> None:
    calls: list[int] = []

    async def flaky(session: Any, event: webhooks.WebhookEvent) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("downstream is down")

    webhooks.register_event_handler("star", flaky)
    try:
        await deliver(client, "star", {"action": "started"}, delivery="d-flaky")
        await _process(settings, sessionmaker)
        async with sessionmaker() as s:
            delivery = (await s.execute(select(WebhookDelivery))).scalar_one()
            job = (await s.execute(select(Job))).scalar_one()
        assert delivery.status == "received" and "downstream is down" in (delivery.error or "")
        assert job.status == "pending"
        async with sessionmaker() as s, s.begin():
            await s.execute(update(Job).values(run_after=job.created_at))
        await _process(settings, sessionmaker)
    finally:
        webhooks.EVENT_HANDLERS.pop("star")
    async with sessionmaker() as s:
        delivery = (await s.execute(select(WebhookDelivery))).scalar_one()
    assert delivery.status == "processed" and len(calls) == 2


@ONLY_SQLITE
async def test_comment_refreshes_the_mirror_and_old_deliveries_are_purged(
    settings, client, sessionmaker
) -> None:
    from datetime import timedelta

    from devops_center.db import utcnow

    comment = fixture("issue_comment.created.payload.json")
    comment["repository"]["full_name"] = REPO
    assert (await deliver(client, "issue_comment", comment)).status_code == 202
    await _process(settings, sessionmaker)
    async with sessionmaker() as s:
        row = (await s.execute(select(GithubIssue))).scalar_one()
    assert (row.repo, row.number, row.title) == (
        REPO,
        comment["issue"]["number"],
        comment["issue"]["title"],
    )

    await deliver(client, "star", {"action": "started"}, delivery="old-unhandled")
    async with sessionmaker() as s, s.begin():
        await s.execute(update(WebhookDelivery).values(received_at=utcnow() - timedelta(days=31)))
        s.add(
            WebhookDelivery(
                source="github",
                delivery_id="old-failed",
                event="issues",
                status="failed",
                received_at=utcnow() - timedelta(days=31),
            )
        )
        await outbox.enqueue(s, messages.PurgeGithubDeliveries())
    await worker.drain(settings, sessionmaker, kinds=[messages.PurgeGithubDeliveries.kind])
    async with sessionmaker() as s:
        left = (await s.execute(select(WebhookDelivery.delivery_id))).scalars().all()
    assert left == ["old-failed"]


@ONLY_SQLITE
async def test_form_encoded_deliveries_are_accepted(settings, client, sessionmaker) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(fixture("ping.payload.json"))}).encode()
    response = await client.post(
        "/webhooks/github",
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-github-event": "ping",
            "x-github-delivery": "d-form",
            "x-hub-signature-256": signature.sign(WEBHOOK_SECRET, body),
        },
    )
    assert response.status_code == 200 and response.json()["status"] == "pong"
    assert await _count(sessionmaker, WebhookDelivery, WebhookDelivery.delivery_id == "d-form")


async def test_same_content_under_a_new_delivery_id_is_a_repeat(
    settings, client, sessionmaker, people
) -> None:
    """A captured delivery replayed with a fresh X-GitHub-Delivery has no second effect."""
    await _linked_bug(sessionmaker, people["employee"].id)
    payload = issue_payload("issues.closed.json", number=7)
    assert (await deliver(client, "issues", payload, delivery="first")).status_code == 202
    again = await deliver(client, "issues", payload, delivery="second")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    other = dict(payload, action="reopened")  # different content: a new event
    assert (await deliver(client, "issues", other, delivery="third")).status_code == 202
    assert await _count(sessionmaker, WebhookDelivery) == 2
    await _process(settings, sessionmaker)
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).where(Job.kind == "notify.user")) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deep enough to break a recursive decoder
        b'{"a":' * 200 + b"1" + b"}" * 200,  # decodes, but deeper than any real payload
        b"[1, 2, 3]",
        b'"just a string"',
        b"null",
    ],
    ids=["recursion", "too-deep", "array", "string", "null"],
)
async def test_signed_but_unusable_bodies_are_400(client, sessionmaker, body: bytes) -> None:
    answer = await deliver(client, "issues", body)
    assert answer.status_code == 400, answer.text
    assert await _count(sessionmaker, WebhookDelivery) == 0
