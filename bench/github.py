"""GitHub loop benchmark: webhook answer time, issue creation throughput, mirror sync.

Runs against a temporary SQLite database and the tests' stand-in GitHub server.
Prints the figures and exits non-zero when a target is missed. ``--smoke`` runs a few
items only (used by the test suite).

Targets (a loaded 2-core machine):
  webhook receiver p95 answer      < 50 ms   (it only verifies, stores, queues)
  issue creation                   >= 10 issues/s (one worker runner, sequential)
  full sync of 1000 open issues    < 10 s;  the unchanged re-sync (a 304) < 0.5 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.github.standin import StandIn  # noqa: E402

from devops_center import worker  # noqa: E402
from devops_center.config import get_settings  # noqa: E402
from devops_center.db import make_engine, make_sessionmaker  # noqa: E402
from devops_center.integrations.github import signature  # noqa: E402
from devops_center.migrations import runner  # noqa: E402
from devops_center.outbox import messages  # noqa: E402
from devops_center.outbox import service as outbox  # noqa: E402
from devops_center.support import service as support  # noqa: E402
from devops_center.users import service as users  # noqa: E402
from devops_center.web.app import create_app  # noqa: E402

SECRET = "bench-secret"
REPO = "acme/app"
FIXTURE = ROOT / "tests" / "fixtures" / "github" / "issues.closed.json"


async def bench(*, deliveries: int, bugs: int, issues: int) -> list[str]:
    missed: list[str] = []
    standin = StandIn(repo=REPO).start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        runner.upgrade(url)
        settings = get_settings(
            database_url=url,
            var_dir=Path(tmp) / "var",
            secret_key="b" * 40,
            github_token="test-token",
            github_repo=REPO,
            github_api_url=standin.url,
            github_webhook_secret=SECRET,
            config_file=None,
            checks=[],
        )
        engine = make_engine(url)
        sessionmaker = make_sessionmaker(engine)
        try:
            # 1. The webhook receiver.
            app = create_app(settings, engine=engine, sessionmaker=sessionmaker)
            payload = json.loads(FIXTURE.read_text())
            payload["repository"]["full_name"] = REPO
            times = []
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                for n in range(deliveries):
                    # Each delivery a distinct event (the same content again is a repeat).
                    payload["issue"]["updated_at"] = (
                        f"2026-12-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z"
                    )
                    payload["issue"]["comments"] = n
                    body = json.dumps(payload).encode()
                    headers = {
                        "content-type": "application/json",
                        "x-github-event": "issues",
                        "x-hub-signature-256": signature.sign(SECRET, body),
                        "x-github-delivery": str(uuid.uuid4()),
                    }
                    start = time.perf_counter()
                    response = await client.post("/webhooks/github", content=body, headers=headers)
                    times.append(time.perf_counter() - start)
                    assert response.status_code == 202, response.text
            times.sort()
            p50 = statistics.median(times) * 1000
            p95 = times[int(len(times) * 0.95) - 1 if len(times) > 1 else 0] * 1000
            print(f"webhook receiver: {deliveries} deliveries, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
            if p95 >= 50:
                missed.append(f"webhook p95 {p95:.1f} ms >= 50 ms")

            # 2. Issue creation.
            async with sessionmaker() as s, s.begin():
                user = await users.create_user(
                    s, name="Bench", role="employee", email="b@bench.local", password=None
                )
                for n in range(bugs):
                    await support.file_bug(
                        s,
                        settings=settings.model_copy(update={"bug_rate_limit_per_hour": 10**6}),
                        reporter_id=user.id,
                        report=support.BugReport(
                            title=f"Bench bug {n}", what_doing="a", expected="b", actual="c"
                        ),
                        source="web",
                    )
            start = time.perf_counter()
            await worker.drain(settings, sessionmaker, kinds=[messages.CreateGithubIssue.kind])
            elapsed = time.perf_counter() - start
            rate = bugs / elapsed
            print(f"issue creation: {bugs} issues in {elapsed:.2f} s = {rate:.1f} issues/s")
            if len(standin.issues) != bugs:
                missed.append(f"{len(standin.issues)} issues for {bugs} bugs")
            if rate < 10:
                missed.append(f"issue creation {rate:.1f}/s < 10/s")

            # 3. The mirror.
            for n in range(issues - bugs):
                standin.add_issue(f"Other issue {n}", labels=["enhancement"])
            for label, limit in (("full sync", 10.0), ("unchanged re-sync (304)", 0.5)):
                async with sessionmaker() as s, s.begin():
                    await outbox.enqueue(s, messages.SyncGithubIssues())
                start = time.perf_counter()
                await worker.drain(settings, sessionmaker, kinds=[messages.SyncGithubIssues.kind])
                elapsed = time.perf_counter() - start
                print(f"{label} of {issues} open issues: {elapsed:.2f} s (target < {limit} s)")
                if elapsed >= limit:
                    missed.append(f"{label} {elapsed:.2f} s >= {limit} s")
        finally:
            await engine.dispose()
            standin.stop()
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few items only")
    args = parser.parse_args()
    sizes = (
        {"deliveries": 20, "bugs": 10, "issues": 30}
        if args.smoke
        else {"deliveries": 300, "bugs": 200, "issues": 1000}
    )
    missed = asyncio.run(bench(**sizes))
    for line in missed:
        print(f"MISSED: {line}")
    print("github bench: " + ("FAILED" if missed else "all targets met"))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
