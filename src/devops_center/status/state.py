"""The up/down state machine of a check (Uptime Kuma's): a failed probe of an ``up``
check makes it ``pending``; after ``retries`` more failures it is ``down`` (an incident
opens, one alert goes to the admin chat, then a reminder every ``reminder_minutes`` while
down). ``successes`` consecutive good probes bring a ``down`` check back ``up`` (the
incident is resolved, one alert). Inside a maintenance window a check is
``maintenance``: no alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.incidents import service as incidents
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.status.checks import CheckSpec
from devops_center.status.models import (
    CheckResult,
    CheckState,
)
from devops_center.status.probes import ProbeResult


@dataclass(frozen=True)
class Transition:
    check_name: str
    old: str
    new: str
    alert: str | None  # check_down | check_up | check_reminder | None
    incident_id: int | None


async def _state_row(session: AsyncSession, name: str, now: datetime) -> CheckState:
    stmt = select(CheckState).where(CheckState.check_name == name).with_for_update()
    state = (await session.execute(stmt)).scalar_one_or_none()
    if state is None:
        state = CheckState(
            check_name=name,
            state="unknown",
            since=now,
            consecutive_failures=0,
            consecutive_successes=0,
        )
        session.add(state)
        await session.flush()
    return state


async def record_result(
    session: AsyncSession,
    *,
    spec: CheckSpec,
    result: ProbeResult,
    now: datetime | None = None,
    maintenance: bool = False,
) -> Transition:
    """Store one probe result and move the check's state; open/resolve incidents and alert.

    Runs in the caller's transaction: the result, the state, the incident and the alert
    job commit together.
    """
    now = now or utcnow()
    state = await _state_row(session, spec.name, now)
    old = state.state
    alert: str | None = None
    if maintenance:
        new = "maintenance"
        state.consecutive_failures = 0
        state.consecutive_successes = 0
    elif result.ok:
        state.consecutive_successes += 1
        state.consecutive_failures = 0
        waiting = old == "down" and state.consecutive_successes < spec.successes
        new = "down" if waiting else "up"
        if new == "up" and old in ("down", "maintenance") and state.incident_id is not None:
            await incidents.resolve(session, incident_id=state.incident_id, resolved_at=now)
            alert = "check_up"
    else:
        state.consecutive_failures += 1
        state.consecutive_successes = 0
        if old == "down":
            new = "down"
            reminder = timedelta(minutes=spec.reminder_minutes)
            if (
                spec.reminder_minutes > 0
                and state.last_alert_at is not None
                and now - state.last_alert_at >= reminder
            ):
                alert = "check_reminder"
        elif state.consecutive_failures > spec.retries:
            new = "down"
            incident = await incidents.open_incident(
                session,
                source="check",
                source_ref=spec.name,
                title=f"{spec.name} is down",
                service=spec.name,
                severity="high",
                opened_at=now,
                description=result.message,
            )
            state.incident_id = incident.id
            alert = "check_down"
        else:
            new = "pending"
    incident_id = state.incident_id
    if alert is not None:
        await outbox.enqueue(
            session,
            messages.NotifyAdmins(
                event=alert,
                check_name=spec.name,
                incident_id=incident_id,
                message=result.message,
            ),
        )
        state.last_alert_at = now
    if alert == "check_up":
        state.incident_id = None
    if new != old:
        state.since = now
    state.state = new
    state.last_checked_at = now
    state.last_response_ms = result.response_ms
    state.last_message = (result.message or "")[:1000] or None
    session.add(
        CheckResult(
            check_name=spec.name,
            ok=1 if result.ok else 0,
            state=new,
            response_ms=result.response_ms,
            message=(result.message or "")[:1000] or None,
            checked_at=now,
        )
    )
    await session.flush()
    return Transition(spec.name, old, new, alert, incident_id)
