"""System status: which checks exist, their up/down state machine, uptime and history.

CONTRACT (used by the dashboard panel, /admin/status, the bot's /morning, the digest and
/metrics): :func:`current_states` returning :class:`CheckView` objects, and
:func:`uptimes`. Their fields may grow; existing ones keep their meaning.

State machine (Uptime Kuma's): a failed probe of an ``up`` check makes it ``pending``;
after ``retries`` more failures it is ``down`` (an incident opens, one alert goes to the
admin chat, then a reminder every ``reminder_minutes`` while down). ``successes``
consecutive good probes bring a ``down`` check back ``up`` (the incident is resolved, one
alert). Inside a maintenance window a check is ``maintenance``: no alerts, and its
results don't count for uptime.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from devops_center.config import CheckConfig, Settings, mask_url
from devops_center.db import utcnow
from devops_center.errors import Invalid, NotFound
from devops_center.i18n import lazy
from devops_center.incidents import service as incidents
from devops_center.incidents.models import Incident
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.status import probes
from devops_center.status.models import (
    CheckResult,
    CheckRollup,
    CheckState,
    MaintenanceWindowRow,
    RollupWatermark,
)
from devops_center.status.probes import ProbeResult

BUILTIN_CHECKS = ("web", "database", "bot", "redis")
DEFAULT_REMINDER_MINUTES = 30
RAW_RETENTION = timedelta(days=7)
ROLLUP_RETENTION = timedelta(days=90)
WINDOWS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
VIEW_STATES = ("up", "down", "pending", "maintenance", "unknown", "not_configured")


# ------------------------------------------------------------------ what is checked


@dataclass(frozen=True)
class CheckSpec:
    """One check to run: a built-in one (web, database, bot, redis) or from dcc.toml."""

    name: str
    type: str  # web | database | bot | redis | http | tcp | postgres
    builtin: bool
    target: str = ""
    interval: int = 60
    retries: int = 2
    successes: int = 1
    timeout: float = 10.0
    reminder_minutes: int = DEFAULT_REMINDER_MINUTES
    configured: bool = True
    why: str | None = None  # why not configured
    config: CheckConfig | None = None


def check_specs(settings: Settings) -> list[CheckSpec]:
    """Every check, built-in first. A ``[[checks]]`` entry named like a built-in replaces it."""
    configured = {c.name: c for c in settings.checks}
    specs: list[CheckSpec] = []
    if "web" not in configured:
        specs.append(
            CheckSpec("web", "web", True, target=f"{settings.base_url}/readyz", timeout=5.0)
        )
    if "database" not in configured:
        specs.append(
            CheckSpec(
                "database", "database", True, target=mask_url(settings.database_url), timeout=5.0
            )
        )
    if "bot" not in configured:
        bot = settings.telegram_enabled()
        specs.append(
            CheckSpec(
                "bot",
                "bot",
                True,
                target=f"heartbeat {probes.BOT_HEARTBEAT_KEY}",
                timeout=5.0,
                configured=bot.enabled,
                why=None if bot.enabled else bot.why,
            )
        )
    if settings.redis_url and "redis" not in configured:
        specs.append(
            CheckSpec("redis", "redis", True, target=mask_url(settings.redis_url), timeout=5.0)
        )
    for c in settings.checks:
        if c.type == "http":
            target = _hide_password(c.url or "")
        elif c.type == "tcp":
            target = f"{c.host}:{c.port}"
        else:
            target = mask_url(c.dsn or "")
        specs.append(
            CheckSpec(
                name=c.name,
                type=c.type,
                builtin=c.name in BUILTIN_CHECKS,
                target=target,
                interval=c.interval,
                retries=c.retries,
                successes=c.successes,
                timeout=c.timeout,
                reminder_minutes=(
                    DEFAULT_REMINDER_MINUTES if c.reminder_minutes is None else c.reminder_minutes
                ),
                config=c,
            )
        )
    return specs


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def find_spec(settings: Settings, name: str) -> CheckSpec | None:
    return next((s for s in check_specs(settings) if s.name == name), None)


async def probe(
    spec: CheckSpec,
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> ProbeResult:
    """Run the check's probe once (outside any transaction). Never raises."""
    if spec.type == "web":
        return await probes.probe_http(spec.target, timeout_s=spec.timeout)
    if spec.type == "database":
        return await probes.probe_database(sessionmaker, timeout_s=spec.timeout)
    if spec.type == "bot":
        return await probes.probe_bot(sessionmaker, timeout_s=spec.timeout)
    if spec.type == "redis" and spec.config is None:
        return await probes.probe_redis(settings.redis_url or "", timeout_s=spec.timeout)
    c = spec.config
    assert c is not None
    if c.type == "http":
        return await probes.probe_http(
            c.url or "",
            timeout_s=c.timeout,
            expected_status=c.expected_status,
            keyword=c.keyword,
            cert_days_warning=c.cert_days_warning,
        )
    if c.type == "tcp":
        return await probes.probe_tcp(c.host or "", c.port or 0, timeout_s=c.timeout)
    if c.type == "postgres":
        return await probes.probe_postgres(c.dsn or "", timeout_s=c.timeout)
    return await probes.probe_redis(c.dsn or "", timeout_s=c.timeout)


# -------------------------------------------------------------- maintenance windows


@dataclass(frozen=True)
class Window:
    checks: tuple[str, ...]  # empty: every check
    starts_at: datetime
    ends_at: datetime
    id: str | None = None  # set for windows added on /admin/status (None: from dcc.toml)
    note: str | None = None

    def covers(self, name: str, when: datetime) -> bool:
        return (not self.checks or name in self.checks) and self.starts_at <= when < self.ends_at


WINDOWS_KEPT = timedelta(days=1)  # past windows are read for a day (uptime), then purged
NOTE_MAX = 200


def parse_when(value: str, settings: Settings) -> datetime:
    """ISO 8601; without an offset the time is in the configured time zone."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=settings.tz)
    return parsed.astimezone(UTC)


def maintenance_windows(settings: Settings) -> list[Window]:
    """The windows of dcc.toml ``[[maintenance]]``."""
    return [
        Window(tuple(m.checks), parse_when(m.starts_at, settings), parse_when(m.ends_at, settings))
        for m in settings.maintenance
    ]


async def stored_windows(session: AsyncSession, *, now: datetime | None = None) -> list[Window]:
    """The windows admins added on /admin/status that are not over yet."""
    now = now or utcnow()
    rows = await session.execute(
        select(MaintenanceWindowRow)
        .where(MaintenanceWindowRow.ends_at > now - WINDOWS_KEPT)
        .order_by(MaintenanceWindowRow.starts_at, MaintenanceWindowRow.id)
    )
    return [
        Window(tuple(r.checks or ()), r.starts_at, r.ends_at, id=r.id, note=r.note)
        for r in rows.scalars()
    ]


async def all_windows(session: AsyncSession, settings: Settings) -> list[Window]:
    return maintenance_windows(settings) + await stored_windows(session)


def in_maintenance(
    settings: Settings,
    name: str,
    when: datetime | None = None,
    *,
    windows: list[Window] | None = None,
) -> bool:
    when = when or utcnow()
    pool = windows if windows is not None else maintenance_windows(settings)
    return any(w.covers(name, when) for w in pool)


async def add_window(
    session: AsyncSession,
    *,
    settings: Settings,
    starts_at: str,
    ends_at: str,
    checks: list[str],
    note: str = "",
    now: datetime | None = None,
) -> Window:
    """Add a maintenance window (times in the configured time zone unless they say)."""
    now = now or utcnow()
    fields: dict[str, str] = {}
    start = end = None
    try:
        start = parse_when(starts_at.strip(), settings)
    except ValueError:
        fields["starts_at"] = lazy("Enter a date and time")
    try:
        end = parse_when(ends_at.strip(), settings)
    except ValueError:
        fields["ends_at"] = lazy("Enter a date and time")
    if start is not None and end is not None:
        if end <= start:
            fields["ends_at"] = lazy("The end must be after the start")
        elif end <= now:
            fields["ends_at"] = lazy("The window is already over")
        elif end - start > timedelta(days=7):
            fields["ends_at"] = lazy("A window may last at most 7 days")
    known = {s.name for s in check_specs(settings)}
    chosen = sorted({c.strip() for c in checks if c.strip()})
    if any(c not in known for c in chosen):
        fields["checks"] = lazy("Unknown check")
    if len(note) > NOTE_MAX:
        fields["note"] = lazy("At most 200 characters")
    if fields or start is None or end is None:
        raise Invalid(lazy("The maintenance window was not saved"), fields=fields)
    window = Window(tuple(chosen), start, end, id=uuid.uuid4().hex[:12], note=note.strip() or None)
    session.add(
        MaintenanceWindowRow(
            id=window.id,
            checks=list(window.checks),
            starts_at=start,
            ends_at=end,
            note=window.note,
            created_at=now,
        )
    )
    await session.flush()
    return window


async def remove_window(session: AsyncSession, *, window_id: str) -> None:
    row = await session.get(MaintenanceWindowRow, window_id[:32])
    if row is None:
        raise NotFound(lazy("No such maintenance window"))
    await session.delete(row)
    await session.flush()


# ------------------------------------------------------------------- state machine


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


# ------------------------------------------------------------------------- uptime


@dataclass(frozen=True)
class Uptime:
    """Successful probes / probes outside maintenance, per window; None without data."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # window → (ups, samples)

    def percent(self, window: str) -> float | None:
        ups, samples = self.counts.get(window, (0, 0))
        return ups / samples * 100 if samples else None


def _epoch(session: AsyncSession, column: Any) -> ColumnElement[int]:
    """Seconds since 1970 of a timestamp column, as an integer, in SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), Integer)


async def uptimes(
    session: AsyncSession, *, names: Iterable[str] | None = None, now: datetime | None = None
) -> dict[str, Uptime]:
    """Uptime over 24 h, 7 d and 30 d of every check, in SQL.

    Whole hours come from the hourly roll-ups (kept up to date by the retention job);
    the hours not rolled up yet and the partial hour at a window's start from the raw
    results. So the query reads at most ~720 roll-up rows and ~1 hour of raw rows a check.
    """
    now = now or utcnow()
    starts = {w: now - d for w, d in WINDOWS.items()}
    watermark = await rolled_until(session)
    wanted = list(names) if names is not None else None
    totals: dict[str, dict[str, list[int]]] = {}

    def add(name: str, window: str, ups: Any, samples: Any) -> None:
        per = totals.setdefault(name, {w: [0, 0] for w in WINDOWS})
        per[window][0] += int(ups or 0)
        per[window][1] += int(samples or 0)

    # Raw results: simple time ranges (each an index range scan), shared by the windows.
    ranges: dict[tuple[datetime, datetime | None], list[str]] = {}
    for w, start in starts.items():
        if watermark is None:
            ranges.setdefault((start, None), []).append(w)
            continue
        edge = min(_ceil_hour(start), watermark)
        if edge > start:  # the partial hour at the window's start
            ranges.setdefault((start, edge), []).append(w)
        ranges.setdefault((max(start, watermark), None), []).append(w)  # not rolled up yet
    for (low, high), windows in ranges.items():
        upper = CheckResult.checked_at <= now if high is None else CheckResult.checked_at < high
        stmt = (
            select(CheckResult.check_name, func.sum(CheckResult.ok), func.count())
            .where(
                CheckResult.checked_at >= low,
                upper,
                CheckResult.state != "maintenance",
            )
            .group_by(CheckResult.check_name)
        )
        if wanted is not None:
            stmt = stmt.where(CheckResult.check_name.in_(wanted))
        for name, ups, samples in await session.execute(stmt):
            for w in windows:
                add(name, w, ups, samples)

    # Whole hours from the roll-ups.
    if watermark is not None:
        cols: list[Any] = []
        for start in starts.values():
            in_w = and_(CheckRollup.hour >= _ceil_hour(start), CheckRollup.hour < watermark)
            cols += [
                func.sum(case((in_w, CheckRollup.ups), else_=0)),
                func.sum(case((in_w, CheckRollup.samples), else_=0)),
            ]
        rolled = (
            select(CheckRollup.check_name, *cols)
            .where(
                CheckRollup.hour >= _ceil_hour(min(starts.values())),
                CheckRollup.hour < watermark,
            )
            .group_by(CheckRollup.check_name)
        )
        if wanted is not None:
            rolled = rolled.where(CheckRollup.check_name.in_(wanted))
        for row in await session.execute(rolled):
            for j, w in enumerate(WINDOWS):
                add(row[0], w, row[1 + 2 * j], row[2 + 2 * j])
    return {
        name: Uptime({w: (ups, n) for w, (ups, n) in per.items()}) for name, per in totals.items()
    }


# -------------------------------------------------------------------- current view


@dataclass(frozen=True)
class CheckView:
    """What every screen shows about one check (web panel, /admin/status, bot, metrics)."""

    name: str
    type: str
    builtin: bool
    target: str
    state: str  # up | down | pending | maintenance | unknown | not_configured
    since: datetime | None
    last_checked_at: datetime | None
    response_ms: float | None
    message: str | None
    uptime_24h: float | None
    uptime_7d: float | None
    uptime_30d: float | None
    incident_id: int | None
    interval: int

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    @property
    def is_down(self) -> bool:
        return self.state == "down"


def stale_after(spec: CheckSpec) -> timedelta:
    """No result for this long means nobody is checking (the worker is not running)."""
    return timedelta(seconds=max(3 * spec.interval, 180))


async def current_states(
    session: AsyncSession, settings: Settings, *, now: datetime | None = None
) -> list[CheckView]:
    """Every configured check with its state, last response time, uptime and since when."""
    now = now or utcnow()
    specs = check_specs(settings)
    names = [s.name for s in specs]
    rows = await session.execute(select(CheckState).where(CheckState.check_name.in_(names)))
    states = {row.check_name: row for row in rows.scalars()}
    ups = await uptimes(session, names=names, now=now)
    windows = await all_windows(session, settings)
    views = []
    for spec in specs:
        row = states.get(spec.name)
        uptime = ups.get(spec.name, Uptime())
        state = row.state if row else "unknown"
        message = row.last_message if row else None
        since = row.since if row else None
        if not spec.configured:
            state, message, since = "not_configured", spec.why, None
        elif in_maintenance(settings, spec.name, now, windows=windows):
            state = "maintenance"
        elif (
            row is None
            or row.last_checked_at is None
            or now - row.last_checked_at > stale_after(spec)
        ):
            state = "unknown"
        views.append(
            CheckView(
                name=spec.name,
                type=spec.type,
                builtin=spec.builtin,
                target=spec.target,
                state=state,
                since=since,
                last_checked_at=row.last_checked_at if row else None,
                response_ms=row.last_response_ms if row else None,
                message=message,
                uptime_24h=uptime.percent("24h"),
                uptime_7d=uptime.percent("7d"),
                uptime_30d=uptime.percent("30d"),
                incident_id=row.incident_id if row else None,
                interval=spec.interval,
            )
        )
    return views


# ------------------------------------------------------------------------ history


@dataclass(frozen=True)
class Point:
    at: datetime  # start of the bucket
    avg_ms: float | None
    max_ms: float | None
    samples: int
    ups: int


async def response_series(
    session: AsyncSession,
    *,
    name: str,
    since: datetime,
    until: datetime | None = None,
    bucket_seconds: int = 300,
    use_rollups: bool = False,
) -> list[Point]:
    """Response time and success per bucket, from the raw results (kept 7 days).

    With ``use_rollups`` (periods longer than a week) whole rolled-up hours come from the
    hourly roll-ups and only the rest from raw results.
    """
    until = until or utcnow()
    watermark = await rolled_until(session) if use_rollups else None
    raw_from = max(since, watermark) if watermark is not None else since
    raw_bucket = _epoch(session, CheckResult.checked_at) // bucket_seconds
    statements: list[Any] = [
        select(
            raw_bucket,
            func.sum(CheckResult.response_ms),
            func.count(CheckResult.response_ms),
            func.max(CheckResult.response_ms),
            func.count(),
            func.sum(CheckResult.ok),
        )
        .where(
            CheckResult.check_name == name,
            CheckResult.checked_at >= raw_from,
            CheckResult.checked_at <= until,
        )
        .group_by(raw_bucket)
    ]
    if watermark is not None:
        roll_bucket = _epoch(session, CheckRollup.hour) // bucket_seconds
        total = CheckRollup.samples + CheckRollup.maintenance
        statements.append(
            select(
                roll_bucket,
                func.sum(CheckRollup.response_ms_avg * total),
                func.sum(case((CheckRollup.response_ms_avg.is_(None), 0), else_=total)),
                func.max(CheckRollup.response_ms_max),
                func.sum(CheckRollup.samples),
                func.sum(CheckRollup.ups),
            )
            .where(
                CheckRollup.check_name == name,
                CheckRollup.hour >= since,
                CheckRollup.hour < watermark,
            )
            .group_by(roll_bucket)
        )
    acc: dict[int, list[float]] = {}
    for stmt in statements:
        for bucket, ms_sum, ms_n, ms_max, n, ups in await session.execute(stmt):
            a = acc.setdefault(int(bucket), [0.0, 0.0, -1.0, 0.0, 0.0])
            a[0] += float(ms_sum or 0)
            a[1] += float(ms_n or 0)
            a[2] = max(a[2], float(ms_max) if ms_max is not None else -1.0)
            a[3] += float(n or 0)
            a[4] += float(ups or 0)
    return [
        Point(
            at=datetime.fromtimestamp(b * bucket_seconds, UTC),
            avg_ms=round(a[0] / a[1], 2) if a[1] else None,
            max_ms=a[2] if a[2] >= 0 else None,
            samples=int(a[3]),
            ups=int(a[4]),
        )
        for b, a in sorted(acc.items())
    ]


async def check_incidents(session: AsyncSession, *, name: str, limit: int = 5) -> list[Incident]:
    return await incidents.list_incidents(session, source="check", source_ref=name, limit=limit)


# ---------------------------------------------------------------------- retention


ROLL_UP_DELAY = timedelta(minutes=5)  # results of an hour may still be arriving


def _floor_hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(when: datetime) -> datetime:
    floor = _floor_hour(when)
    return floor if floor == when else floor + timedelta(hours=1)


async def rolled_until(session: AsyncSession) -> datetime | None:
    """Every result before this hour is in the roll-ups (None: nothing rolled up yet)."""
    row = await session.get(RollupWatermark, 1, populate_existing=True)
    return row.rolled_until if row is not None else None


async def set_rolled_until(session: AsyncSession, when: datetime) -> None:
    row = await session.get(RollupWatermark, 1)
    if row is None:
        session.add(RollupWatermark(id=1, rolled_until=_floor_hour(when)))
    else:
        row.rolled_until = _floor_hour(when)
    await session.flush()


async def roll_up(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Fold the raw results of every complete hour not rolled up yet into hourly roll-ups.

    Returns the number of raw results folded (the raw rows stay for 7 days, for the
    detailed charts). Safe to run any time and twice: a watermark in the key-value store
    says which hours are done, and an hour met again is merged, never overwritten.
    """
    now = now or utcnow()
    until = _floor_hour(now - ROLL_UP_DELAY)
    since = await rolled_until(session)
    if since is not None and since >= until:
        return 0
    bucket = _epoch(session, CheckResult.checked_at) // 3600
    counted = CheckResult.state != "maintenance"
    stmt = (
        select(
            CheckResult.check_name,
            bucket,
            func.sum(case((counted, 1), else_=0)),
            func.sum(case((counted, CheckResult.ok), else_=0)),
            func.sum(case((counted, 0), else_=1)),
            func.avg(CheckResult.response_ms),
            func.max(CheckResult.response_ms),
        )
        .where(CheckResult.checked_at < until)
        .group_by(CheckResult.check_name, bucket)
    )
    if since is not None:
        stmt = stmt.where(CheckResult.checked_at >= since)
    groups = list(await session.execute(stmt))
    folded = 0
    if groups:
        first = min(datetime.fromtimestamp(int(g[1]) * 3600, UTC) for g in groups)
        existing = {
            (r.check_name, r.hour): r
            for r in (
                await session.execute(select(CheckRollup).where(CheckRollup.hour >= first))
            ).scalars()
        }
        new_rows: list[dict[str, Any]] = []
        for name, b, samples, ups, maint, avg_ms, max_ms in groups:
            hour = datetime.fromtimestamp(int(b) * 3600, UTC)
            samples, ups, maint = int(samples or 0), int(ups or 0), int(maint or 0)
            folded += samples + maint
            old = existing.get((name, hour))
            if old is None:
                new_rows.append(
                    {
                        "check_name": name,
                        "hour": hour,
                        "samples": samples,
                        "ups": ups,
                        "maintenance": maint,
                        "response_ms_avg": float(avg_ms) if avg_ms is not None else None,
                        "response_ms_max": float(max_ms) if max_ms is not None else None,
                    }
                )
                continue
            n_old, n_new = old.samples + old.maintenance, samples + maint
            if avg_ms is not None:
                old.response_ms_avg = (
                    float(avg_ms)
                    if old.response_ms_avg is None
                    else (old.response_ms_avg * n_old + float(avg_ms) * n_new) / (n_old + n_new)
                )
            if max_ms is not None:
                old.response_ms_max = max(old.response_ms_max or 0.0, float(max_ms))
            old.samples += samples
            old.ups += ups
            old.maintenance += maint
        if new_rows:
            await session.execute(insert(CheckRollup), new_rows)
    await set_rolled_until(session, until)
    await session.flush()
    return folded


async def purge(session: AsyncSession, *, now: datetime | None = None) -> tuple[int, int]:
    """Delete raw results older than 7 days (once rolled up) and roll-ups older than 90 days.

    Returns (raw results deleted, roll-ups deleted).
    """
    now = now or utcnow()
    cutoff = _floor_hour(now - RAW_RETENTION)
    watermark = await rolled_until(session)
    raw = 0
    if watermark is not None:
        result = await session.execute(
            delete(CheckResult).where(CheckResult.checked_at < min(cutoff, watermark))
        )
        raw = int(result.rowcount or 0)  # type: ignore[attr-defined]
    result = await session.execute(
        delete(CheckRollup).where(CheckRollup.hour < now - ROLLUP_RETENTION)
    )
    await session.execute(
        delete(MaintenanceWindowRow).where(MaintenanceWindowRow.ends_at < now - WINDOWS_KEPT)
    )
    return raw, int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_removed_checks(session: AsyncSession, settings: Settings) -> int:
    """Drop the state rows of checks no longer configured (their history ages out)."""
    names = [s.name for s in check_specs(settings)]
    gone = select(CheckState).where(CheckState.check_name.not_in(names))
    for row in (await session.execute(gone)).scalars():
        if row.incident_id is not None:
            await incidents.resolve(session, incident_id=row.incident_id)
    result = await session.execute(delete(CheckState).where(CheckState.check_name.not_in(names)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
