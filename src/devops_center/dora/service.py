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

import bisect
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.deployments import localdays, rollups
from devops_center.dora import cfr, queries, restores, samples
from devops_center.dora.rules import (
    DAY,
    PIPELINE_DURATION,
    WEEKS,
    WINDOWS,
    DeploymentStats,
    DoraReport,
    Metric,
    change_failure_level,
    chart_buckets,
    frequency_level,
    lead_time_level,
    local_midnight,
    percentile,
    time_to_restore_level,
    week_starts,
    zone_of,
)

log = logging.getLogger("devops_center.dora")
MICROSECONDS = 1_000_000  # lead times are stored in µs
__all__ = [
    "WINDOWS",
    "DeploymentStats",
    "DoraReport",
    "Metric",
    "change_failure_level",
    "dora_report",
    "frequency_level",
    "lead_time_level",
    "percentile",
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
    cfr_mode: str = "deployments",
) -> DoraReport:
    """DORA metrics over the last ``days`` days (the formulas of SPEC "Formulas", pinned by
    the tests).

    ``tz`` is the configured time zone (``settings.timezone``): weeks and days are local.
    ``cfr_mode`` is ``settings.cfr_mode`` (:mod:`devops_center.dora.cfr`).
    """
    days = max(1, int(days))
    zone = zone_of(tz)
    end = (now or utcnow()).astimezone(UTC)
    start = end - timedelta(days=days)
    prev_start = start - timedelta(days=days)

    # The 12 full weeks before the current one for the frequency level → 13 local weeks;
    # the charts follow the window: a point a day up to 31 days, a week beyond.
    mondays = week_starts(end, zone, WEEKS + 1)
    week_bounds = [local_midnight(d, zone) for d in mondays]
    bucket, chart_days, span = chart_buckets(start, end, zone, days)
    chart_bounds = [local_midnight(d, zone) for d in chart_days]
    lo = min(prev_start, week_bounds[0], chart_bounds[0])

    def chart_of(day: date) -> int | None:
        i = bisect.bisect_right(chart_days, day) - 1
        return i if i >= 0 and day < chart_days[i] + span else None

    use_rollups = await _rollups_cover(session, zone)
    the_plan = queries.plan(lo, end, [prev_start, start], zone, rollups=use_rollups)
    # lead times are read for the two windows and the chart; the older weeks of the
    # frequency level only count their deployment days
    read: dict[str, Any] = {
        "zone": zone,
        "environment": environment,
        "service": service,
        "values_from": min(prev_start, chart_bounds[0]),
    }
    found = await queries.window_days(session, the_plan, **read)
    current, previous = queries.Counts(), queries.Counts()
    bucket_counts: dict[int, queries.Counts] = defaultdict(queries.Counts)
    deploy_days: dict[date, set[date]] = defaultdict(set)
    lead_w: dict[int, samples.Sample] = defaultdict(lambda: samples.Sample(MICROSECONDS))
    lead_k: dict[int, samples.Sample] = defaultdict(lambda: samples.Sample(MICROSECONDS))
    for (day, win), entry in found.items():
        counts = entry.counts
        if win == 1:
            current.merge(counts)
        elif win == 0:
            previous.merge(counts)
        monday = day - timedelta(days=day.weekday())
        if counts.finished:
            deploy_days[monday].add(day)
        k = chart_of(day)
        if k is not None:
            bucket_counts[k].merge(counts)
        for run in entry.runs():
            if win >= 0:
                lead_w[win].add_sorted(run)
            if k is not None:
                lead_k[k].add_sorted(run)

    # Elapsed days of each chart bucket (the current one is partial).
    def bucket_days(i: int) -> float:
        finish = min(local_midnight(chart_days[i] + span, zone), end)
        return max((finish - chart_bounds[i]).total_seconds() / DAY, 1 / 24)

    labels = [d.isoformat() for d in chart_days]

    def series(fn: Any) -> list[tuple[str, float | None]]:
        return [
            (label, fn(bucket_counts.get(i, queries.Counts()), i)) for i, label in enumerate(labels)
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
        series=series(lambda c, i: round(c.finished / bucket_days(i), 4)),
    )

    # ---- change failure rate
    cfr_value = _ratio(current.failed + current.rolled_back, current.finished)
    cfr_previous = _ratio(previous.failed + previous.rolled_back, previous.finished)
    cfr_series = series(lambda c, _i: _ratio(c.failed + c.rolled_back, c.finished))
    cfr_extra: dict[str, float | int | None] = {
        "failed": current.failed,
        "rolled_back": current.rolled_back,
    }
    if cfr_mode == "incidents":
        caused = await cfr.caused_starts(
            session, environment=environment, service=service, lo=lo, hi=end
        )
        by_window = cfr.bucket(caused, [prev_start, start], end)
        by_bucket = cfr.bucket(caused, chart_bounds, end)
        cfr_value = _ratio(by_window[1], current.finished)
        cfr_previous = _ratio(by_window[0], previous.finished)
        cfr_series = series(lambda c, i: _ratio(by_bucket[i], c.finished))
        cfr_extra["caused_incidents"] = by_window[1]
    cfr_metric = Metric(
        "change_failure_rate",
        cfr_value,
        "percent",
        level=change_failure_level(cfr_value),
        previous=cfr_previous,
        sample_size=current.finished,
        extra=cfr_extra,
        series=cfr_series,
    )

    # ---- rework rate
    rework = Metric(
        "rework_rate",
        _ratio(current.rework, current.finished),
        "percent",
        previous=_ratio(previous.rework, previous.finished),
        sample_size=current.finished,
        extra={"rework_deployments": current.rework},
        series=series(lambda c, _i: _ratio(c.rework, c.finished)),
    )

    # ---- lead time (commits first deployed successfully)
    spans: dict[str, Any] = {
        "environment": environment,
        "service": service,
        "window_starts": [prev_start, start],
        "week_bounds": chart_bounds,
        "end": end,
    }
    fallback = not lead_w[1].n
    if fallback:
        # No commit data: the pipeline durations of successful deployments, labelled.
        lead_w, lead_k = defaultdict(samples.Sample), defaultdict(samples.Sample)
        found = await queries.window_days(session, the_plan, **read, durations=True)
        for (day, win), entry in found.items():
            k = chart_of(day)
            for run in entry.runs(durations=True):
                if win >= 0:
                    lead_w[win].add_sorted(run)
                if k is not None:
                    lead_k[k].add_sorted(run)
    lead = _lead_metric(
        {w: v for w, v in lead_w.items() if v.n},
        {k: v for k, v in lead_k.items() if v.n},
        labels,
        fallback=fallback,
    )

    # ---- time to restore
    ttr_w, ttr_k, open_count = await restores.restore_percentiles(session, **spans)
    ttr_value = ttr_w[1].value(0.5) if 1 in ttr_w else None
    ttr = Metric(
        "time_to_restore",
        ttr_value,
        "seconds",
        level=time_to_restore_level(ttr_value),
        previous=ttr_w[0].value(0.5) if 0 in ttr_w else None,
        sample_size=ttr_w[1].n if 1 in ttr_w else 0,
        extra={"open": open_count, "p90": ttr_w[1].value(0.9) if 1 in ttr_w else None},
        series=[
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
        change_failure_rate=cfr_metric,
        lead_time=lead,
        time_to_restore=ttr,
        rework_rate=rework,
        stats=current.stats(),
        timezone=getattr(zone, "key", None) or str(zone),
        open_incidents=open_count,
        previous_stats=previous.stats(),
        cfr_mode=cfr_mode,
        bucket=bucket,
    )


def _lead_metric(
    by_window: dict[int, samples.Sample],
    by_bucket: dict[int, samples.Sample],
    labels: list[str],
    *,
    fallback: bool,
) -> Metric:
    current = by_window.get(1)
    value = current.value(0.5) if current is not None else None
    points = [
        (label, by_bucket[i].value(0.5) if i in by_bucket else None)
        for i, label in enumerate(labels)
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
            series=points,
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
        series=points,
    )


_warned_zones: set[str] = set()


async def _rollups_cover(session: AsyncSession, zone: tzinfo) -> bool:
    """Whether the daily roll-ups are in ``zone`` (else the window's raw rows are read:
    exact, slower; ``dcc dora rebuild`` puts the roll-ups in the configured zone)."""
    conn = await session.connection()
    stored = await conn.run_sync(rollups.rollup_zone)
    if localdays.zone_name(stored) == localdays.zone_name(zone):
        return True
    name = localdays.zone_name(zone)
    if name not in _warned_zones:
        _warned_zones.add(name)
        log.warning(
            "DORA roll-ups are in %s, the report is asked in %s: reading raw rows "
            "(run `dcc dora rebuild` to put them in %s)",
            localdays.zone_name(stored),
            name,
            name,
        )
    return False
