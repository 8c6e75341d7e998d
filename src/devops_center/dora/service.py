"""The DORA report: one function (:func:`dora_report`) for web, API, bot, CLI and /metrics.

It assembles the five figures of a window from the statements in
:mod:`devops_center.dora.queries` with the rules of :mod:`devops_center.dora.rules`;
how they read is :mod:`devops_center.dora.presenter`'s business.

Formulas (SPEC "Formulas"): a deployment is in a window by ``started_at``;
``in_progress`` ones count nowhere. Frequency = deployments / days; change failure rate
= (failed + rolled_back) / deployments × 100; change lead time = median over commits
first deployed successfully in the window of (that deployment's ``completed_at`` −
commit time), else the median pipeline duration (labelled); time to restore = median of
(resolved − opened) over incidents resolved in the window; rework rate = rollback and
hotfix deployments / deployments × 100. Medians interpolate between the two middle
values.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import cache
from devops_center.db import utcnow
from devops_center.dora import queries
from devops_center.dora.rules import (
    DAY,
    PIPELINE_DURATION,
    WEEKS,
    WINDOWS,
    DeploymentStats,
    DoraReport,
    Metric,
    change_failure_level,
    frequency_level,
    lead_time_level,
    local_midnight,
    percentile,
    time_to_restore_level,
    week_starts,
    zone_of,
)
from devops_center.incidents import service as incidents

__all__ = [
    "WINDOWS",
    "DeploymentStats",
    "DoraReport",
    "Metric",
    "cached_report",
    "change_failure_level",
    "dora_report",
    "frequency_level",
    "invalidate",
    "lead_time_level",
    "percentile",
    "report_from_dict",
    "time_to_restore_level",
]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


async def dora_report(
    session: AsyncSession,
    *,
    days: int = 30,
    environment: str = "production",
    service: str | None = None,
    now: datetime | None = None,
    tz: str | tzinfo | None = "UTC",
) -> DoraReport:
    """DORA metrics over the last ``days`` days (brief's formulas; see SPEC "Formulas").

    ``tz`` is the configured time zone (``settings.timezone``): weeks and days are local.
    """
    days = max(1, int(days))
    zone = zone_of(tz)
    end = (now or utcnow()).astimezone(UTC)
    start = end - timedelta(days=days)
    prev_start = start - timedelta(days=days)

    # Weeks: the last 12 (current partial one last) for the charts, plus the 12 full
    # weeks before the current one for the frequency level → 13 local weeks.
    mondays = week_starts(end, zone, WEEKS + 1)
    week_bounds = [local_midnight(d, zone) for d in mondays]
    chart_weeks = mondays[1:]
    lo = min(prev_start, week_bounds[0])

    rollup = await queries.daily_rollup(
        session,
        lo=lo,
        hi=end,
        windows=[prev_start, start],
        zone=zone,
        environment=environment,
        service=service,
    )
    current, previous = queries.Counts(), queries.Counts()
    week_counts: dict[date, queries.Counts] = defaultdict(queries.Counts)
    deploy_days: dict[date, set[date]] = defaultdict(set)
    for day, win, counts in rollup:
        if win == 1:
            current.merge(counts)
        elif win == 0:
            previous.merge(counts)
        monday = day - timedelta(days=day.weekday())
        week_counts[monday].merge(counts)
        if counts.finished:
            deploy_days[monday].add(day)

    # Elapsed days of each chart week (the current one is partial).
    def week_days(monday: date) -> float:
        begin = local_midnight(monday, zone)
        finish = min(local_midnight(monday + timedelta(days=7), zone), end)
        return max((finish - begin).total_seconds() / DAY, 1 / 24)

    labels = [d.isoformat() for d in chart_weeks]

    def weekly(fn: Any) -> list[tuple[str, float | None]]:
        return [
            (label, fn(week_counts.get(d, queries.Counts()), d))
            for label, d in zip(labels, chart_weeks, strict=True)
        ]

    # ---- frequency
    full_weeks = mondays[:-1]
    days_per_week = [len(deploy_days.get(d, ())) for d in full_weeks]
    freq = Metric(
        "deployment_frequency",
        current.finished / days if current.finished else 0.0,
        "per_day",
        level=frequency_level(days_per_week) if any(days_per_week) or current.finished else None,
        previous=previous.finished / days,
        sample_size=current.finished,
        extra={
            "deployments": current.finished,
            "previous_deployments": previous.finished,
            "median_deploy_days_per_week": percentile(sorted(float(x) for x in days_per_week), 0.5),
        },
        weekly=weekly(lambda c, d: round(c.finished / week_days(d), 4)),
    )

    # ---- change failure rate
    cfr_value = _ratio(current.failed + current.rolled_back, current.finished)
    cfr = Metric(
        "change_failure_rate",
        cfr_value,
        "percent",
        level=change_failure_level(cfr_value),
        previous=_ratio(previous.failed + previous.rolled_back, previous.finished),
        sample_size=current.finished,
        extra={"failed": current.failed, "rolled_back": current.rolled_back},
        weekly=weekly(lambda c, _d: _ratio(c.failed + c.rolled_back, c.finished)),
    )

    # ---- rework rate
    rework = Metric(
        "rework_rate",
        _ratio(current.rework, current.finished),
        "percent",
        previous=_ratio(previous.rework, previous.finished),
        sample_size=current.finished,
        extra={"rework_deployments": current.rework},
        weekly=weekly(lambda c, _d: _ratio(c.rework, c.finished)),
    )

    # ---- lead time (commits first deployed successfully)
    chart_bounds = week_bounds[1:]
    spans: dict[str, Any] = {
        "environment": environment,
        "service": service,
        "window_starts": [prev_start, start],
        "week_bounds": chart_bounds,
        "end": end,
    }
    lead_w, lead_k = await queries.lead_time_percentiles(session, **spans)
    fallback = not (1 in lead_w and lead_w[1].n)
    if fallback:
        lead_w, lead_k = await queries.duration_percentiles(session, **spans)
    lead = _lead_metric(lead_w, lead_k, labels, fallback=fallback)

    # ---- time to restore
    ttr_w, ttr_k = await queries.restore_percentiles(session, **spans)
    open_count = await queries.open_incident_count(
        session, environment=environment, service=service
    )
    ttr_value = ttr_w[1].value(0.5) if 1 in ttr_w else None
    ttr = Metric(
        "time_to_restore",
        ttr_value,
        "seconds",
        level=time_to_restore_level(ttr_value),
        previous=ttr_w[0].value(0.5) if 0 in ttr_w else None,
        sample_size=ttr_w[1].n if 1 in ttr_w else 0,
        extra={"open": open_count, "p90": ttr_w[1].value(0.9) if 1 in ttr_w else None},
        weekly=[
            (label, ttr_k[i].value(0.5) if i in ttr_k else None) for i, label in enumerate(labels)
        ],
    )

    return DoraReport(
        days=days,
        environment=environment,
        service=service,
        start=start,
        end=end,
        deployment_frequency=freq,
        change_failure_rate=cfr,
        lead_time=lead,
        time_to_restore=ttr,
        rework_rate=rework,
        stats=current.stats(),
        timezone=getattr(zone, "key", None) or str(zone),
        open_incidents=open_count,
        previous_stats=previous.stats(),
    )


def _lead_metric(
    by_window: dict[int, queries.Pct],
    by_week: dict[int, queries.Pct],
    labels: list[str],
    *,
    fallback: bool,
) -> Metric:
    current = by_window.get(1)
    value = current.value(0.5) if current is not None else None
    weekly = [
        (label, by_week[i].value(0.5) if i in by_week else None) for i, label in enumerate(labels)
    ]
    previous = by_window[0].value(0.5) if 0 in by_window else None
    p90 = current.value(0.9) if current is not None else None
    if not fallback:
        return Metric(
            "lead_time",
            value,
            "seconds",
            level=lead_time_level(value),
            previous=previous,
            sample_size=current.n if current is not None else 0,
            extra={"p90": p90, "commits": current.n if current is not None else 0},
            weekly=weekly,
        )
    # No commit data: the median pipeline duration of successful deployments, labelled.
    return Metric(
        "lead_time",
        value,
        "seconds",
        level=None,
        previous=previous,
        sample_size=current.n if current is not None else 0,
        label=PIPELINE_DURATION if value is not None else None,
        extra={"p90": p90, "commits": 0},
        weekly=weekly,
    )


# ----------------------------------------------------------------------------- cache

VERSION_KEY = incidents.METRICS_VERSION_KEY
CACHE_TTL = timedelta(minutes=2)


async def invalidate(session: AsyncSession) -> None:
    """Any write that changes a figure (a deployment, an incident) calls this in its own
    transaction: cached reports of the old version are never served again."""
    await incidents.metrics_changed(session)


def _metric_from_dict(data: dict[str, Any]) -> Metric:
    return Metric(
        key=data["key"],
        value=data["value"],
        unit=data["unit"],
        level=data["level"],
        previous=data["previous"],
        sample_size=data["sample_size"],
        label=data["label"],
        extra=dict(data["extra"]),
        weekly=[(w["week"], w["value"]) for w in data["weekly"]],
    )


def report_from_dict(data: dict[str, Any]) -> DoraReport:
    """The inverse of :meth:`DoraReport.as_dict`."""
    metrics = {k: _metric_from_dict(v) for k, v in data["metrics"].items()}
    previous = data.get("previous_stats")
    return DoraReport(
        days=data["days"],
        environment=data["environment"],
        service=data["service"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        deployment_frequency=metrics["deployment_frequency"],
        change_failure_rate=metrics["change_failure_rate"],
        lead_time=metrics["lead_time"],
        time_to_restore=metrics["time_to_restore"],
        rework_rate=metrics["rework_rate"],
        stats=DeploymentStats(**data["stats"]),
        timezone=data["timezone"],
        open_incidents=data["open_incidents"],
        previous_stats=DeploymentStats(**previous) if previous else None,
    )


async def cached_report(
    session: AsyncSession,
    *,
    days: int = 30,
    environment: str = "production",
    service: str | None = None,
    tz: str = "UTC",
    now: datetime | None = None,
) -> DoraReport:
    """:func:`dora_report`, kept for the rest of the minute in the shared key-value store
    (so any number of web processes, the bot and Prometheus share it) and dropped as
    soon as a deployment or an incident is written (:func:`invalidate`). Views of the
    dashboard, API polls and scrapes then cost one indexed lookup instead of the
    aggregates; the figures are those of at most a minute ago."""
    moment = (now or utcnow()).astimezone(UTC)
    version = await cache.get(session, key=VERSION_KEY) or "0"
    key = (
        f"dora.report:{version}:{days}:{environment}:{service or ''}:{tz}:"
        f"{int(moment.timestamp() // 60)}"
    )[:200]
    hit = await cache.get(session, key=key)
    if isinstance(hit, dict):
        try:
            report = report_from_dict(hit)
        except (KeyError, TypeError, ValueError):
            report = None
        if report is not None and report.service == (service or None):
            return report
    report = await dora_report(
        session, days=days, environment=environment, service=service, now=moment, tz=tz
    )
    await cache.put(session, key=key, value=report.as_dict(), ttl=CACHE_TTL)
    return report
