"""A failed deployment's reason: accepted by the API, the import, the CLI (one shared
check) and GitHub's deployment_status webhook; shown on the list, the deployment page,
in the incident and the admin alert; the old derived reason stays as the fallback."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from devops_center.deployments import importer
from devops_center.deployments import service as deployments
from devops_center.deployments.models import Deployment
from devops_center.incidents.models import Incident
from devops_center.notify.texts import admin_alert
from devops_center.outbox.messages import NotifyAdmins
from tests.conftest import csrf_token
from tests.deployments.test_api import auth, body, token  # noqa: F401 - the fixture
from tests.deployments.test_github import fixture

REASON = "smoke test: /healthz answered 502 <Bad Gateway>"


async def test_api_stores_returns_and_checks_the_reason(client, token, sessionmaker) -> None:  # noqa: F811
    r = await client.post(
        "/api/v1/deployments",
        json=body(status="failed", failure_reason=f"  {REASON}  "),
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    assert r.json()["failure_reason"] == REASON
    async with sessionmaker() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
    assert REASON in (incident.description or "")

    # Too long, or on a deployment that did not fail: 422 naming the field, nothing stored.
    for bad in (
        body(status="failed", failure_reason="x" * 501, external_id="long"),
        body(status="success", failure_reason="nope", external_id="ok-with-reason"),
        body(status="failed", failure_reason="nul\x00", external_id="nul"),
    ):
        refused = await client.post("/api/v1/deployments", json=bad, headers=auth(token))
        assert refused.status_code == 422, refused.text
        assert "failure_reason" in refused.text
    async with sessionmaker() as s:
        ids = set((await s.execute(select(Deployment.external_id))).scalars())
    assert ids == {"6512345678-1"}

    # A blank reason is none; a later success of the same run clears the reason.
    again = await client.post(
        "/api/v1/deployments", json=body(status="failed", failure_reason="  "), headers=auth(token)
    )
    assert again.json()["failure_reason"] == REASON  # left out: the stored one stays
    fixed = await client.post("/api/v1/deployments", json=body(), headers=auth(token))
    assert fixed.status_code == 200 and fixed.json()["failure_reason"] is None


async def test_openapi_documents_the_reason(client) -> None:
    schema = (await client.get("/api/openapi.json")).json()["components"]["schemas"]
    assert schema["DeploymentIn"]["properties"]["failure_reason"]["anyOf"][0]["maxLength"] == 500
    assert "failure_reason" in schema["DeploymentOut"]["properties"]


async def test_import_takes_the_reason_through_the_same_check(sessionmaker, settings) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    line = {
        "commit_sha": "abcdef1",
        "started_at": start.isoformat(),
        "completed_at": (start + timedelta(minutes=3)).isoformat(),
        "status": "failed",
        "service": "web",
        "external_id": "imp-1",
        "failure_reason": "migration 0042 timed out",
    }
    bad = dict(line, external_id="imp-2", status="success")
    stream = io.BytesIO(f"{json.dumps(line)}\n{json.dumps(bad)}\n".encode())
    summary = await importer.import_lines(
        sessionmaker, importer.numbered_lines(stream), settings=settings
    )
    assert summary.imported == 1 and [r.line for r in summary.refused] == [2]
    assert "failure_reason" in summary.refused[0].reason
    async with sessionmaker() as s:
        row = (await s.execute(select(Deployment))).scalar_one()
    assert row.failure_reason == "migration 0042 timed out"


async def test_deployment_status_description_becomes_the_reason(settings, sessionmaker) -> None:
    payload = fixture("deployment_status.success.json")
    failure = copy.deepcopy(payload)
    failure["deployment_status"]["state"] = "error"
    failure["deployment_status"]["description"] = "Health check failed\n after  3 tries"
    async with sessionmaker() as s, s.begin():
        dep = await deployments.record_from_deployment_status(s, failure, settings=settings)
    assert dep is not None and dep.status == "failed"
    assert dep.failure_reason == "Health check failed after 3 tries"
    ok = copy.deepcopy(payload)
    ok["deployment_status"]["description"] = "Deployment finished successfully."
    async with sessionmaker() as s, s.begin():
        fine = await deployments.record_from_deployment_status(s, ok, settings=settings)
    assert fine is not None and fine.failure_reason is None


async def test_pages_and_alert_show_the_reason_with_the_old_fallback(
    as_role, sessionmaker, settings
) -> None:
    from devops_center.deployments.schemas import DeploymentIn

    start = datetime.now(UTC) - timedelta(hours=2)

    def dep(i: int, **extra: object) -> DeploymentIn:
        return DeploymentIn.model_validate(
            {
                "commit_sha": f"{i:07x}",
                "commit_message": f"change {i}",
                "started_at": start + timedelta(minutes=10 * i),
                "completed_at": start + timedelta(minutes=10 * i + 3),
                "service": "web",
                "external_id": f"run-{i}",
                **extra,
            }
        )

    async with sessionmaker() as s, s.begin():
        with_reason = await deployments.record(
            s, data=dep(1, status="failed", failure_reason=REASON, tests_failed=0)
        )
        derived = await deployments.record(s, data=dep(2, status="failed", tests_failed=3))
        reason_id, derived_id = with_reason.deployment.id, derived.deployment.id
    owner = await as_role("owner")
    page = (await owner.get("/admin/deployments")).text
    reasons = re.findall(r'class="small error failure-reason">(.*?)</span>', page, re.S)
    assert any("&lt;Bad Gateway&gt;" in r for r in reasons)  # escaped
    assert any("3 tests failed" in r for r in reasons)  # the fallback stays
    detail = (await owner.get(f"/admin/deployments/{reason_id}")).text
    assert "Why it failed" in detail and "smoke test: /healthz answered 502 &lt;Bad" in detail
    other = (await owner.get(f"/admin/deployments/{derived_id}")).text
    assert "3 tests failed" in other
    csrf = await csrf_token(owner, "/admin/deployments")
    await owner.post("/language", data={"csrftoken": csrf, "language": "ru", "next": "/"})
    assert "Почему не удалось" in (await owner.get(f"/admin/deployments/{reason_id}")).text

    async with sessionmaker() as s:
        msg = NotifyAdmins(event="deployment_finished", deployment_id=reason_id)
        en = await admin_alert(s, settings, "en", msg)
        ru_alert = await admin_alert(s, settings, "ru", msg)
    assert (
        en is not None and f"Reason: {REASON.replace('<', '&lt;').replace('>', '&gt;')}" in en.text
    )
    assert ru_alert is not None and "Причина: smoke test" in ru_alert.text
