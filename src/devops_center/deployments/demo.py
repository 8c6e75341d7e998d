"""Demo deployments for ``dcc demo``: ~90 days of two services, bulk-inserted.

Realistic shapes: 1–3 deployments a working day per service (fewer at weekends), each
shipping 1–5 commits made since the previous deployment (lead times of minutes to a
few days), ~12 % failures followed by a hotfix within hours, a few deployments rolled
back followed by a rollback deployment, incidents opened by every failure and resolved
by the next success, a couple of staging deployments, one deployment running now, and
the last 30 days a little better than the 30 before (the dashboard shows a trend).
Deterministic (fixed seed).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.deployments import rollups
from devops_center.deployments.batch_incidents import incident_ref
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.incidents.models import Incident

SERVICES = ("staffprobot-web", "staffprobot-bot")
AUTHORS = ("olga", "sam", "boris", "anna")
MESSAGES = (
    "fix: close shift on slow networks",
    "feat: weekly schedule export",
    "chore: bump dependencies",
    "fix: payout rounding",
    "feat: swap shifts between colleagues",
    "refactor: notification service",
    "fix: timezone of shift start",
    "feat: manager dashboard filters",
    "perf: cache schedule queries",
    "fix: bot /start for new users",
    "feat: reminders before a shift",
    "fix: duplicate push notifications",
    "docs: onboarding guide",
    "test: cover payroll export",
)
DAYS = 90


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


async def populate_demo(session: AsyncSession, *, now: datetime, seed: int = 5) -> int:
    """Insert the demo deployments, commits and incidents; returns how many deployments."""
    rng = random.Random(seed)  # noqa: S311 - demo data
    start_day = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[dict[str, Any]] = []
    commits: list[list[dict[str, Any]]] = []
    for service in SERVICES:
        last_commit_at = start_day - timedelta(days=1)
        previous_sha = _sha(rng)
        day = 0
        seq = 0
        while day <= DAYS:
            base = start_day + timedelta(days=day)
            weekend = base.weekday() >= 5
            per_day = rng.choice((0, 0, 1) if weekend else (0, 1, 1, 2, 2, 3))
            recent = day > DAYS - 30
            fail_p = 0.09 if recent else 0.15
            for _ in range(per_day):
                started = base + timedelta(hours=rng.randint(8, 19), minutes=rng.randint(0, 59))
                if started > now - timedelta(minutes=20):
                    break
                seq += 1
                roll = rng.random()
                status = (
                    "failed"
                    if roll < fail_p
                    else "rolled_back"
                    if roll < fail_p + 0.03
                    else "success"
                )
                sha = _sha(rng)
                duration = rng.randint(150, 720)
                shipped: list[dict[str, Any]] = []
                for _c in range(rng.randint(1, 5)):
                    lead_hours = rng.choice((0.3, 1, 2, 4, 6, 10, 20, 30, 52, 75)) * rng.uniform(
                        0.6, 1.3
                    )
                    # after the service's last shipped commit, never after this start
                    # (a day's starts are drawn in any order: a hotfix may come later)
                    floor = min(last_commit_at, started - timedelta(minutes=5))
                    at = max(started - timedelta(hours=lead_hours), floor)
                    shipped.append(
                        {
                            "sha": _sha(rng),
                            "committed_at": at,
                            "message": rng.choice(MESSAGES),
                            "author": rng.choice(AUTHORS),
                        }
                    )
                shipped[-1]["sha"] = sha
                shipped[-1]["committed_at"] = max(c["committed_at"] for c in shipped)
                last_commit_at = started
                rows.append(
                    _row(service, sha, shipped[-1]["message"], started, duration, status, seq, rng)
                )
                commits.append(shipped)
                if status == "failed":  # a hotfix follows within hours
                    fix_at = started + timedelta(hours=rng.uniform(0.5, 5))
                    if fix_at < now - timedelta(minutes=20):
                        seq += 1
                        fix_sha = _sha(rng)
                        rows.append(
                            _row(
                                service,
                                fix_sha,
                                "fix: hotfix after failed deployment",
                                fix_at,
                                rng.randint(150, 400),
                                "success",
                                seq,
                                rng,
                                kind="hotfix",
                            )
                        )
                        commits.append(
                            [
                                {
                                    "sha": fix_sha,
                                    "committed_at": fix_at - timedelta(minutes=rng.randint(10, 50)),
                                    "message": "fix: hotfix after failed deployment",
                                    "author": rng.choice(AUTHORS),
                                }
                            ]
                        )
                        last_commit_at = fix_at
                elif status == "rolled_back":  # the previous version goes back out
                    back_at = started + timedelta(minutes=rng.randint(15, 90))
                    if back_at < now - timedelta(minutes=20):
                        seq += 1
                        rows.append(
                            _row(
                                service,
                                previous_sha,
                                "revert to the previous release",
                                back_at,
                                rng.randint(120, 300),
                                "success",
                                seq,
                                rng,
                                kind="rollback",
                            )
                        )
                        commits.append([])
                        sha = previous_sha
                previous_sha = sha
            day += 1
    # A few staging deployments and one running now.
    for i in range(6):
        at = now - timedelta(days=2 * i + 1, hours=3)
        rows.append(
            _row(SERVICES[0], _sha(rng), rng.choice(MESSAGES), at, 200, "success", 900 + i, rng)
        )
        rows[-1]["environment"] = "staging"
        commits.append([])
    running = _row(
        SERVICES[0], _sha(rng), "feat: reminders before a shift", now, 0, "success", 999, rng
    )
    running.update(started_at=now - timedelta(minutes=4), status="in_progress", completed_at=None)
    running.update(duration_seconds=None, tests_passed=None, tests_failed=None)
    rows.append(running)
    commits.append([])

    order = sorted(range(len(rows)), key=lambda i: rows[i]["started_at"])
    rows = [rows[i] for i in order]
    commits = [commits[i] for i in order]
    ids = list(
        (
            await session.execute(
                insert(Deployment).returning(Deployment.id, sort_by_parameter_order=True), rows
            )
        ).scalars()
    )
    commit_rows = [
        {**c, "deployment_id": dep_id}
        for dep_id, shipped in zip(ids, commits, strict=True)
        for c in shipped
    ]
    if commit_rows:
        await session.execute(insert(DeploymentCommit), commit_rows)
    rollups.changed(session, ids)  # bulk (Core) inserts: the roll-ups are told
    await session.execute(insert(Incident), _incidents(rows, ids, now))
    return len(rows)


DEMO_REASONS = (  # a failed deployment's
    "smoke test: /healthz answered 502 after the switch",
    "migration timed out waiting for a lock on shifts",
    "container exited: missing REDIS_URL",
)
DEMO_ROLLBACK_REASON = "error rate above 5% for 3 minutes after the release"


def _row(
    service: str,
    sha: str,
    message: str,
    started: datetime,
    duration: int,
    status: str,
    seq: int,
    rng: random.Random,
    *,
    kind: str = "normal",
) -> dict[str, Any]:
    failed_tests = rng.randint(1, 4) if status == "failed" and rng.random() < 0.6 else 0
    return {
        "commit_sha": sha,
        "commit_message": message,
        "started_at": started,
        "completed_at": started + timedelta(seconds=duration),
        "status": status,
        "duration_seconds": duration,
        "triggered_by": "github-actions" if rng.random() < 0.8 else rng.choice(AUTHORS),
        "tests_passed": rng.randint(180, 240),
        "tests_failed": failed_tests,
        "environment": "production",
        "service": service,
        "kind": kind,
        "external_id": f"demo-{service}-{seq}",
        "source": "demo",
        "url": None,
        # no rng here: the demo's other figures stay as they were
        "failure_reason": DEMO_ROLLBACK_REASON
        if status == "rolled_back"
        else DEMO_REASONS[seq % len(DEMO_REASONS)]
        if status == "failed" and not failed_tests
        else None,
        "created_at": started,
        "updated_at": started + timedelta(seconds=duration),
    }


def _incidents(rows: list[dict[str, Any]], ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """Every failure opens an incident that the next success of that service closes."""
    out: list[dict[str, Any]] = []
    open_by: dict[tuple[str, str], dict[str, Any]] = {}
    for dep_id, row in zip(ids, rows, strict=True):
        key = (row["service"], row["environment"])
        if row["status"] in ("failed", "rolled_back") and key not in open_by:
            verb = "failed" if row["status"] == "failed" else "was rolled back"
            incident = {
                "title": f"Deployment of {row['service']} ({row['environment']}) {verb}",
                "description": f"{row['commit_sha'][:12]} {row['commit_message']}",
                "source": "deployment",
                "source_ref": incident_ref(row["service"], row["environment"]),
                "service": row["service"],
                "environment": row["environment"],
                "severity": "high",
                "deployment_id": dep_id,
                "resolved_by_deployment_id": None,
                "opened_at": row["completed_at"],
                "resolved_at": None,
            }
            open_by[key] = incident
            out.append(incident)
        elif row["status"] == "success" and key in open_by:
            incident = open_by.pop(key)
            incident["resolved_at"] = row["completed_at"]
            incident["resolved_by_deployment_id"] = dep_id
    out.append(
        {
            "title": "Payments provider answers slowly",
            "description": "Opened by hand while the provider investigates.",
            "source": "manual",
            "source_ref": None,
            "service": SERVICES[0],
            "environment": "production",
            "severity": "medium",
            "deployment_id": None,
            "resolved_by_deployment_id": None,
            "opened_at": now - timedelta(hours=2),
            "resolved_at": None,
        }
    )
    return out
