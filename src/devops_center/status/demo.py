"""Demo data for the status feature: 30 days of results of the built-in checks
(raw for the last 7 days, hourly roll-ups before), a pending blip and one past outage
of the web check with its resolved incident. Deterministic; called by ``dcc demo``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.incidents.models import Incident
from devops_center.status.models import CheckResult, CheckRollup, CheckState
from devops_center.status.service import RAW_RETENTION, set_rolled_until

# name → (typical response ms, jitter ms)
DEMO_CHECKS = {"web": (38.0, 25.0), "database": (2.5, 2.0)}
STEP = timedelta(minutes=5)


def _outage(now: datetime) -> tuple[datetime, datetime]:
    start = (now - timedelta(days=11)).replace(hour=3, minute=10, second=0, microsecond=0)
    return start, start + timedelta(minutes=25)


async def populate(session: AsyncSession, *, now: datetime) -> None:
    rng = random.Random(7)  # noqa: S311 - demo data
    out_start, out_end = _outage(now)
    raw_from = now - RAW_RETENTION + timedelta(hours=1)
    results: list[dict[str, Any]] = []
    rollups: list[dict[str, Any]] = []
    for name, (typical, jitter) in DEMO_CHECKS.items():
        # Hourly roll-ups from 30 days ago up to the raw window.
        hour = (now - timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        while hour < raw_from.replace(minute=0, second=0, microsecond=0):
            samples, ups = 12, 12
            if name == "web" and out_start < hour + timedelta(hours=1) and hour < out_end:
                overlap = min(out_end, hour + timedelta(hours=1)) - max(out_start, hour)
                ups -= int(overlap / STEP)
            avg = typical + rng.uniform(0, jitter)
            rollups.append(
                {
                    "check_name": name,
                    "hour": hour,
                    "samples": samples,
                    "ups": ups,
                    "maintenance": 0,
                    "observed_seconds": samples * STEP.total_seconds(),
                    "up_seconds": ups * STEP.total_seconds(),
                    "response_ms_avg": round(avg, 2),
                    "response_ms_max": round(avg + rng.uniform(jitter, 4 * jitter), 2),
                }
            )
            hour += timedelta(hours=1)
        # Raw results every 5 minutes for the last week, with one pending blip.
        blip = now - timedelta(days=2, hours=5)
        at = now - timedelta(seconds=30) - STEP * int((now - raw_from) / STEP)
        while at <= now - timedelta(seconds=30):
            ok = not (name == "web" and blip <= at < blip + STEP)
            ms = typical + rng.expovariate(1 / jitter) if ok else 5000.0
            results.append(
                {
                    "check_name": name,
                    "ok": int(ok),
                    "state": "up" if ok else "pending",
                    "response_ms": round(ms, 2),
                    "message": ("HTTP 200" if name == "web" else "SELECT 1")
                    if ok
                    else "timeout after 5 s",
                    "checked_at": at,
                }
            )
            at += STEP
        session.add(
            CheckState(
                check_name=name,
                state="up",
                since=out_end if name == "web" else now - timedelta(days=30),
                last_checked_at=results[-1]["checked_at"],
                last_response_ms=results[-1]["response_ms"],
                last_message=results[-1]["message"],
                consecutive_failures=0,
                consecutive_successes=1,
            )
        )
    await session.execute(insert(CheckRollup), rollups)
    await set_rolled_until(session, raw_from)  # older hours are in the roll-ups
    await session.execute(insert(CheckResult), results)
    session.add(
        Incident(
            title="web is down",
            description="timeout after 5 s",
            source="check",
            source_ref="web",
            service="web",
            severity="high",
            opened_at=out_start,
            resolved_at=out_end,
        )
    )
    await session.flush()
