"""`dcc deploy import`: JSON Lines of API bodies, registered in batches by the API's own
registration function; the result is the same as posting every line to the API."""

from __future__ import annotations

import io
import json
import os
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.deployments import importer, registration
from devops_center.deployments import service as deployments
from devops_center.deployments.models import (
    CommitFirstDeploy,
    Deployment,
    DeploymentCommit,
    DeploymentDay,
)
from devops_center.deployments.schemas import DeploymentIn
from devops_center.incidents.models import Incident
from devops_center.migrations import runner
from devops_center.outbox.models import Job
from tests.conftest import _truncate


def messy_history(n: int, seed: int) -> list[dict[str, Any]]:
    """API bodies as real CI and re-runs send them: failures, rollbacks, repeats of an
    external id that change the status (in progress → success, success → rolled back)
    or the service,
    lines without an external id, out-of-order arrivals, few services so that
    failures and recoveries interleave."""
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    bodies: list[dict[str, Any]] = []
    for i in range(n):
        began = start + timedelta(minutes=37 * i + rng.randint(0, 30))
        if rng.random() < 0.1:
            began -= timedelta(days=rng.randint(1, 5))  # learnt late
        roll = rng.random()
        status = (
            "failed"
            if roll < 0.25
            else "rolled_back"
            if roll < 0.32
            else "in_progress"
            if roll < 0.37
            else "success"
        )
        body: dict[str, Any] = {
            "commit_sha": f"{rng.getrandbits(160):040x}",
            "started_at": began.isoformat(),
            "status": status,
            "service": rng.choice(["api", "web", "worker"]),
            "environment": rng.choice(["production", "production", "staging"]),
            "kind": rng.choice(["normal", "normal", "hotfix", "rollback"]),
        }
        if status != "in_progress":
            body["completed_at"] = (began + timedelta(minutes=rng.randint(1, 20))).isoformat()
        if rng.random() < 0.7:
            body["commits"] = [
                {
                    "sha": f"{rng.getrandbits(160):040x}",
                    "committed_at": (began - timedelta(hours=rng.randint(1, 50))).isoformat(),
                    "author": "ann",
                }
                for _ in range(rng.randint(0, 3))
            ]
        if rng.random() < 0.9:
            body["external_id"] = f"run-{i}"
        bodies.append(body)
        if body.get("external_id") and rng.random() < 0.15:  # sent again later
            again = dict(body)
            again["status"] = rng.choice(["success", "rolled_back", "failed", "in_progress"])
            again["completed_at"] = (began + timedelta(minutes=30)).isoformat()
            if again["status"] == "in_progress":
                again.pop("completed_at")
            if rng.random() < 0.3:  # moved to another service (another import lane)
                again["service"] = rng.choice(["api", "web", "worker"])
            bodies.append(again)
    rng.shuffle(bodies[len(bodies) // 2 :])  # the second half arrives in any order
    return bodies


async def snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Everything a registration writes, keyed by what is stable (not by row ids)."""
    async with sessionmaker() as s:
        rows = list((await s.execute(select(Deployment).order_by(Deployment.id))).scalars())
        key = {d.id: (d.external_id or d.commit_sha) for d in rows}
        deps = sorted(
            (
                key[d.id],
                d.commit_sha,
                d.started_at,
                d.completed_at,
                d.status,
                d.duration_seconds,
                d.service,
                d.environment,
                d.kind,
            )
            for d in rows
        )
        commits = sorted(
            (key[c.deployment_id], c.sha, c.committed_at, c.author)
            for c in (await s.execute(select(DeploymentCommit))).scalars()
        )
        incidents = sorted(
            (
                key.get(i.deployment_id or 0),
                i.source_ref,
                i.title,
                i.opened_at,
                i.resolved_at,
                key.get(i.resolved_by_deployment_id or 0),
            )
            for i in (await s.execute(select(Incident))).scalars()
        )
        # what is announced (admins' alerts, "your fix is live") differs by design: an
        # import of history announces nothing
        announced = ("notify.admin", "changelog.deployed")
        jobs = sorted(
            j.kind for j in (await s.execute(select(Job))).scalars() if j.kind not in announced
        )
        firsts = sorted(
            (f.service, f.environment, f.sha, key[f.deployment_id], f.started_at, f.lead_us)
            for f in (await s.execute(select(CommitFirstDeploy))).scalars()
        )
        days = sorted(
            (d.service, d.environment, d.day, d.total, d.success, d.failed, d.leads, d.durations)
            for d in (await s.execute(select(DeploymentDay))).scalars()
        )
    return {
        "deployments": deps,
        "commits": commits,
        "incidents": incidents,
        "jobs": jobs,
        "firsts": firsts,
        "days": days,
    }


def jsonl(bodies: list[dict[str, Any]]) -> io.BytesIO:
    return io.BytesIO(b"".join(json.dumps(b).encode() + b"\n" for b in bodies))


async def test_an_import_equals_posting_every_line_one_by_one(
    sessionmaker, engine, settings
) -> None:
    bodies = messy_history(160, seed=11)
    # PostgreSQL writes the services in two lanes at once: the same rows as one by one.
    postgres = engine.dialect.name == "postgresql"
    assert importer.lanes_for(sessionmaker, dry_run=False) == (2 if postgres else 1)
    summary = await importer.import_lines(
        sessionmaker, importer.numbered_lines(jsonl(bodies)), settings=settings, batch_size=37
    )
    assert not summary.refused
    assert summary.lines == len(bodies)
    imported = await snapshot(sessionmaker)

    await _truncate(engine)
    for body in bodies:
        async with sessionmaker() as s, s.begin():
            await deployments.record(
                s, data=DeploymentIn.model_validate(body), source="import", settings=settings
            )
    one_by_one = await snapshot(sessionmaker)
    assert imported == one_by_one
    assert imported["incidents"], "the history holds failures"
    assert any(i[4] is None for i in imported["incidents"]), "and one still open"
    assert summary.imported == len(imported["deployments"])
    assert summary.updated == len(bodies) - summary.imported


async def test_one_big_batch_equals_many_small_ones(sessionmaker, engine, settings) -> None:
    """Batches of thousands take the bulk paths (COPY on PostgreSQL): same rows."""
    bodies = messy_history(700, seed=5)
    await importer.import_lines(
        sessionmaker, importer.numbered_lines(jsonl(bodies)), settings=settings
    )
    big = await snapshot(sessionmaker)
    assert len(big["firsts"]) > 200, "the first deployments of a big batch are copied"
    await _truncate(engine)
    await importer.import_lines(
        sessionmaker, importer.numbered_lines(jsonl(bodies)), settings=settings, batch_size=7
    )
    assert big == await snapshot(sessionmaker)


async def test_bad_lines_are_refused_with_their_numbers_and_never_stop_the_others(
    sessionmaker, settings
) -> None:
    good = messy_history(30, seed=3)
    good = [b for b in good if b.get("external_id")]
    good = list({b["external_id"]: b for b in good}.values())
    lines = [json.dumps(b).encode() for b in good]
    lines.insert(2, b'{"commit_sha": "zz", "status": "success"}')  # line 3
    lines.insert(5, b"")  # line 6: blank lines are skipped
    lines.insert(7, b'{"commit_sha": "ab')  # line 8: cut short
    bad_time = dict(good[0], external_id="late", started_at="2026-01-01T10:00:00Z")
    bad_time["completed_at"] = "2026-01-01T09:00:00Z"
    lines.append(json.dumps(bad_time).encode())  # the last line
    stream = io.BytesIO(b"\n".join(lines) + b"\n")
    summary = await importer.import_lines(
        sessionmaker, importer.numbered_lines(stream), settings=settings, batch_size=4
    )
    assert summary.imported == len(good)
    assert summary.updated == 0
    assert [r.line for r in summary.refused] == [3, 8, len(lines)]
    assert "commit_sha" in summary.refused[0].reason
    assert "started_at" in summary.refused[0].reason  # every missing field is named
    # the line's own fault, not its newline's ("control character found")
    assert "EOF while parsing a string" in summary.refused[1].reason
    assert "completed_at must not be before started_at" in summary.refused[2].reason
    async with sessionmaker() as s:
        stored = set((await s.execute(select(Deployment.external_id))).scalars())
    assert stored == {b["external_id"] for b in good}

    # Again: idempotent by external id, every good line an update.
    stream.seek(0)
    again = await importer.import_lines(
        sessionmaker, importer.numbered_lines(stream), settings=settings
    )
    assert (again.imported, again.updated, len(again.refused)) == (0, len(good), 3)
    async with sessionmaker() as s:
        count = len(list((await s.execute(select(Deployment.id))).scalars()))
    assert count == len(good)


async def test_a_batch_the_database_refuses_is_registered_line_by_line(
    sessionmaker, settings, monkeypatch
) -> None:
    """One line the database rejects rolls its batch back; the batch's other lines are
    then stored one by one and nothing of the bad one stays."""
    bodies = [b for b in messy_history(20, seed=8) if b.get("external_id")]
    bodies = list({b["external_id"]: b for b in bodies}.values())[:9]
    poisoned = bodies[4]["external_id"]
    real = registration._upsert_rows

    async def upsert(session: AsyncSession, items: list[Any]) -> None:
        await real(session, items)
        if any(i.data.external_id == poisoned for i in items):
            raise registration.Invalid("simulated refusal")

    monkeypatch.setattr(registration, "_upsert_rows", upsert)
    summary = await importer.import_lines(
        sessionmaker, importer.numbered_lines(jsonl(bodies)), settings=settings
    )
    assert [r.line for r in summary.refused] == [5]
    assert summary.imported == len(bodies) - 1
    async with sessionmaker() as s:
        stored = set((await s.execute(select(Deployment.external_id))).scalars())
        commits = (await s.execute(select(DeploymentCommit.deployment_id))).scalars().all()
        ids = set((await s.execute(select(Deployment.id))).scalars())
    assert poisoned not in stored and len(stored) == len(bodies) - 1
    assert set(commits) <= ids


async def test_history_is_not_announced_but_the_api_still_is(sessionmaker, settings) -> None:
    bodies = messy_history(10, seed=2)
    await importer.import_lines(
        sessionmaker, importer.numbered_lines(jsonl(bodies)), settings=settings
    )
    async with sessionmaker() as s:
        kinds = set((await s.execute(select(Job.kind))).scalars())
    assert "notify.admin" not in kinds
    async with sessionmaker() as s, s.begin():
        await deployments.record(
            s,
            data=DeploymentIn.model_validate(
                bodies[0]
                | {
                    "external_id": "live-1",
                    "status": "success",
                    "completed_at": bodies[0]["started_at"],
                }
            ),
            settings=settings,
        )
    async with sessionmaker() as s:
        kinds = set((await s.execute(select(Job.kind))).scalars())
    assert "notify.admin" in kinds


def test_the_command_imports_and_its_dry_run_stores_nothing(tmp_path: Path) -> None:
    """Run as a user runs it (a subprocess), on a database of its own."""
    db = tmp_path / "cli.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "DCC_VAR_DIR": str(tmp_path / "var"),
        "DCC_CONFIG": "",
    }
    bodies = [b for b in messy_history(12, seed=4) if b.get("external_id")]
    bodies = list({b["external_id"]: b for b in bodies}.values())
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies) + '{"status": "success"}\n')

    def dcc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "devops_center", "deploy", "import", str(path), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def count() -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM deployments").fetchone()[0])

    # Not migrated yet: one clear message, not every line refused with "no such table".
    unmigrated = dcc()
    assert unmigrated.returncode == 2
    assert "not migrated" in unmigrated.stderr and "dcc db upgrade" in unmigrated.stderr
    assert "line " not in unmigrated.stderr + unmigrated.stdout
    runner.upgrade(f"sqlite+aiosqlite:///{db}")

    dry = dcc("--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert f"would import {len(bodies)}, would update 0, refused 1 of" in dry.stdout
    assert f"line {len(bodies) + 1}: commit_sha: Field required" in dry.stderr
    assert count() == 0

    done = dcc()
    assert f"imported {len(bodies)}, updated 0, refused 1 of" in done.stdout, done.stderr
    assert count() == len(bodies)
    again = dcc("--dry-run")
    assert f"would import 0, would update {len(bodies)}, refused 1" in again.stdout
