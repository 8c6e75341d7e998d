"""Lead time broken down into coding, pickup, review and deploy, from stored pull
requests and the deployments that shipped their merge commits (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.digest import service as digest
from devops_center.github import breakdown
from devops_center.github.models import PullRequest
from tests.conftest import login
from tests.github.conftest import REPO

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
H = 3600.0


def pr(number: int, merged: datetime | None, **kw: Any) -> PullRequest:
    return PullRequest(
        repo=REPO,
        number=number,
        title=kw.pop("title", f"Change {number}"),
        author_login=kw.pop("author", "olga"),
        state="merged" if merged else "open",
        merged_at=merged,
        url=f"https://github.com/o/r/pull/{number}",
        labels=[],
        closes=[],
        **kw,
    )


def deployment(sha: str, done: datetime, status: str = "success", **kw: Any) -> Deployment:
    return Deployment(
        commit_sha=sha,
        started_at=done - timedelta(minutes=10),
        completed_at=done,
        duration_seconds=600,
        status=status,
        service=kw.pop("service", "web"),
        environment=kw.pop("environment", "production"),
        kind="normal",
    )


async def seed(sessionmaker) -> None:
    m1 = NOW - timedelta(days=8)  # a Friday, 12:00
    m2 = NOW - timedelta(days=2)
    m3 = NOW - timedelta(days=1)
    sha1, sha2, sha3, sha4 = "1" * 40, "2" * 40, "3" * 40, "4" * 40
    rows: list[Any] = [
        # 2 h coding, 3 h pickup, 5 h review; on web 12 h after the merge, on api 30 h
        pr(1, m1, opened_at=m1 - timedelta(hours=8), first_commit_at=m1 - timedelta(hours=10),
           first_review_at=m1 - timedelta(hours=5), merge_commit_sha=sha1,
           title="Slow one"),
        # 1 h each, not deployed yet
        pr(2, m2, opened_at=m2 - timedelta(hours=2), first_commit_at=m2 - timedelta(hours=3),
           first_review_at=m2 - timedelta(hours=1), merge_commit_sha=sha2),
        # merged without a review; a commit dated after the opening counts as zero coding
        pr(3, m3, opened_at=m3 - timedelta(hours=4), first_commit_at=m3 - timedelta(hours=3),
           merge_commit_sha=sha3),
        # merged before the window; still open
        pr(4, NOW - timedelta(days=40), opened_at=NOW - timedelta(days=41), merge_commit_sha=sha4),
        pr(5, None, opened_at=NOW - timedelta(days=1)),
    ]  # fmt: skip
    deployments = {
        "failed-first": deployment(sha1, m1 + timedelta(hours=6), "failed"),
        "web": deployment(sha1, m1 + timedelta(hours=12)),
        "web-again": deployment(sha1, m1 + timedelta(hours=20)),
        "api": deployment(sha1, m1 + timedelta(hours=30), service="api"),
        "staging": deployment(sha3, m3 + timedelta(minutes=5), environment="staging"),
        "web3": deployment(sha3, m3 + timedelta(hours=1)),
    }
    async with sessionmaker() as s, s.begin():
        s.add_all(rows)
        s.add_all(deployments.values())
        await s.flush()
        for key, d in deployments.items():
            sha = sha3 if key in ("staging", "web3") else sha1
            s.add(DeploymentCommit(deployment_id=d.id, sha=sha, committed_at=d.started_at))
            s.add(DeploymentCommit(deployment_id=d.id, sha="f" * 39 + key[0], committed_at=NOW))


async def split(sessionmaker, **kw: Any) -> breakdown.Breakdown:
    async with sessionmaker() as s:
        return await breakdown.lead_time_breakdown(s, now=NOW, **kw)


async def test_medians_of_each_stage_over_the_window(sessionmaker) -> None:
    await seed(sessionmaker)
    b = await split(sessionmaker)
    w = b.window
    assert w.pulls == 3
    assert w.coding == 1 * H  # median of 2 h, 1 h, 0 (a late-dated commit)
    assert w.pickup == 2 * H  # of 3 h and 1 h; #3 was never reviewed
    assert w.review == 3 * H  # of 5 h and 1 h
    assert w.deploy == 6.5 * H  # of 12 h (first success on any service) and 1 h
    assert w.counts == {"coding": 3, "pickup": 2, "review": 2, "deploy": 2}
    assert [p.number for p in b.slowest] == [1, 2, 3]  # 22 h, 3 h (not deployed yet), 1 h
    assert b.slowest[0].services == ["api", "web"] and b.slowest[0].total == 22 * H


async def test_per_service_and_per_week(sessionmaker) -> None:
    await seed(sessionmaker)
    b = await split(sessionmaker)
    assert set(b.per_service) == {"api", "web"}
    assert b.per_service["api"].pulls == 1 and b.per_service["api"].deploy == 30 * H
    assert b.per_service["web"].pulls == 2 and b.per_service["web"].deploy == 6.5 * H
    only_api = await split(sessionmaker, service="api")
    assert only_api.window.pulls == 1 and only_api.window.deploy == 30 * H
    weeks = dict(b.per_week)
    assert weeks["2026-11-16"].pulls == 1 and weeks["2026-11-23"].pulls == 2
    assert list(weeks)[-1] == "2026-11-23" and len(weeks) <= breakdown.WEEKS
    staging = await split(sessionmaker, environment="staging")
    assert staging.window.deploy == 5 * 60  # #3 reached staging 5 minutes after the merge
    assert (await split(sessionmaker, repo="other/repo")).window.pulls == 0


async def test_no_pull_requests_is_no_data_not_zero(sessionmaker) -> None:
    b = await split(sessionmaker)
    assert b.window.pulls == 0 and b.window.coding is None and b.window.total is None
    assert b.slowest == [] and all(s.pulls == 0 for _w, s in b.per_week)


async def test_dashboard_api_and_bot_show_the_stages(
    sessionmaker, settings, as_role, monkeypatch
) -> None:
    await seed(sessionmaker)
    import devops_center.github.breakdown as module

    real = module.lead_time_breakdown

    async def at_now(*args: Any, **kw: Any) -> breakdown.Breakdown:
        kw["now"] = NOW
        return await real(*args, **kw)

    monkeypatch.setattr(module, "lead_time_breakdown", at_now)
    owner = await as_role("owner")
    page = await owner.get("/admin/devops")
    assert page.status_code == 200
    text = page.text
    assert "Lead time, broken down" in text and 'id="stage-review"' in text
    assert "Slow one" in text and "https://github.com/o/r/pull/1" in text
    body = (await owner.get("/api/v1/metrics/dora")).json()
    split_ = body["lead_time_breakdown"]
    assert split_["window"]["review"] == 3 * H and split_["window"]["pull_requests"] == 3
    assert split_["slowest"][0]["number"] == 1 and "api" in split_["per_service"]
    assert body["metrics"]["lead_time"]["key"] == "lead_time"  # the rest unchanged

    async with sessionmaker() as s:
        en = await digest.devops_text(s, settings=settings, lang="en", now=NOW)
        ru = await digest.devops_text(s, settings=settings, lang="ru", now=NOW)
    assert "🔍 Coding 60 min · pickup 2 hr · review 3 hr · deploy 6 hr" in en
    assert "🔍 Разработка" in ru and "ревью" in ru


async def test_the_page_in_russian(sessionmaker, make_client, people) -> None:
    from devops_center.users import service as users

    await seed(sessionmaker)
    async with sessionmaker() as s, s.begin():
        await users.create_user(
            s, name="Ольга", role="owner", email="olga@test.local",
            password="correct horse battery",
            language="ru",
        )  # fmt: skip
    c = make_client()
    assert (await login(c, "olga@test.local")).status_code == 303
    page = await c.get("/admin/devops")
    assert "Время поставки по этапам" in page.text
