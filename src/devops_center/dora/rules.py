"""The rules of the DORA report: what the five figures are, their levels and windows.

Pure: no database. ``Metric`` and ``DoraReport`` are what :func:`dora.service.dora_report`
returns to every consumer; their fields may grow, existing ones keep their meaning.
Levels are the 2023 DORA report's bands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

WINDOWS = (7, 30, 90)
WEEKS = 12
DAY = 86400.0
# For which metrics a rise is an improvement (the dashboard colours deltas with it).
HIGHER_IS_BETTER = {
    "deployment_frequency": True,
    "change_failure_rate": False,
    "lead_time": False,
    "time_to_restore": False,
    "rework_rate": False,
}
PIPELINE_DURATION = "pipeline duration"


@dataclass(frozen=True)
class Metric:
    """One DORA figure. ``value`` is None when there is no data (never a fake 0)."""

    # deployment_frequency | change_failure_rate | lead_time | time_to_restore | rework_rate
    key: str
    value: float | None
    unit: str  # per_day | percent | seconds
    level: str | None = None  # elite | high | medium | low
    previous: float | None = None  # the same metric over the previous window
    sample_size: int = 0
    label: str | None = None  # e.g. "pipeline duration" when lead time falls back
    extra: dict[str, float | int | None] = field(default_factory=dict)
    # The trend over the report's window: (bucket start, a local date, value), one point a
    # day for windows up to 31 days, a week (from Monday) beyond (DoraReport.bucket).
    series: list[tuple[str, float | None]] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend(self) -> str | None:
        """``better`` / ``worse`` / ``same`` against the previous window, or None."""
        delta = self.delta
        if delta is None:
            return None
        if abs(delta) < 1e-9:
            return "same"
        up_good = HIGHER_IS_BETTER.get(self.key, True)
        return "better" if (delta > 0) == up_good else "worse"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "unit": self.unit,
            "level": self.level,
            "previous": self.previous,
            "delta": self.delta,
            "trend": self.trend,
            "sample_size": self.sample_size,
            "label": self.label,
            "extra": dict(self.extra),
            "series": [{"start": w, "value": v} for w, v in self.series],
        }


@dataclass(frozen=True)
class DeploymentStats:
    total: int
    success: int
    failed: int
    rolled_back: int
    in_progress: int


@dataclass(frozen=True)
class DoraReport:
    days: int
    environment: str
    service: str | None
    start: datetime
    end: datetime
    deployment_frequency: Metric
    change_failure_rate: Metric
    lead_time: Metric
    time_to_restore: Metric
    rework_rate: Metric
    stats: DeploymentStats
    timezone: str = "UTC"
    open_incidents: int = 0
    previous_stats: DeploymentStats | None = None
    cfr_mode: str = "deployments"  # how the change failure rate counts (DCC_CFR_MODE)
    bucket: str = "week"  # day | week: one point of each metric's series

    @property
    def metrics(self) -> list[Metric]:
        return [
            self.deployment_frequency,
            self.change_failure_rate,
            self.lead_time,
            self.time_to_restore,
            self.rework_rate,
        ]

    @property
    def buckets(self) -> list[str]:
        """The start (local date) of each point of the series, oldest first."""
        return [w for w, _v in self.deployment_frequency.series]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "environment": self.environment,
            "service": self.service,
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "stats": _stats_dict(self.stats),
            "previous_stats": _stats_dict(self.previous_stats) if self.previous_stats else None,
            "open_incidents": self.open_incidents,
            "cfr_mode": self.cfr_mode,
            "series_bucket": self.bucket,
            "metrics": {m.key: m.as_dict() for m in self.metrics},
        }


def _stats_dict(stats: DeploymentStats) -> dict[str, int]:
    return {
        "total": stats.total,
        "success": stats.success,
        "failed": stats.failed,
        "rolled_back": stats.rolled_back,
        "in_progress": stats.in_progress,
    }


# ---------------------------------------------------------------------------- levels


def lead_time_level(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < DAY:
        return "elite"
    if seconds < 7 * DAY:
        return "high"
    if seconds < 30 * DAY:
        return "medium"
    return "low"


def time_to_restore_level(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < 3600:
        return "elite"
    if seconds < DAY:
        return "high"
    if seconds < 7 * DAY:
        return "medium"
    return "low"


def change_failure_level(percent: float | None) -> str | None:
    if percent is None:
        return None
    if percent <= 5:
        return "elite"
    if percent <= 10:
        return "high"
    if percent <= 15:
        return "medium"
    return "low"


def frequency_level(days_per_week: Sequence[int]) -> str | None:
    """From the number of days with a deployment in each of the last 12 full weeks:
    median ≥ 5 elite (on demand), ≥ 1 high (weekly), at least one a month medium."""
    if not days_per_week:
        return None
    median = percentile(sorted(float(d) for d in days_per_week), 0.5)
    assert median is not None
    if median >= 5:
        return "elite"
    if median >= 1:
        return "high"
    months = len(days_per_week) * 7 / 30.4375
    if sum(days_per_week) >= months:
        return "medium"
    return "low"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (the median of 1,2,3,4 is 2.5)."""
    if not values:
        return None
    pos = p * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (pos - lo) * (values[hi] - values[lo])


# ------------------------------------------------------------------------ time zones


def zone_of(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, str):
        return UTC if tz in ("UTC", "Etc/UTC") else ZoneInfo(tz)
    return tz


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


DAILY_UP_TO = 31  # days: a window this long or shorter is charted one point a day


def chart_buckets(
    start: datetime, end: datetime, zone: tzinfo, days: int
) -> tuple[str, list[date], timedelta]:
    """The chart's buckets over the window [start, end]: ``("day", local dates, 1 day)``
    for windows up to 31 days, else ``("week", local Mondays, 7 days)``; the first
    bucket holds ``start``, the last one ``end`` (partial)."""
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    if days <= DAILY_UP_TO:
        return "day", [first + timedelta(days=i) for i in range((last - first).days + 1)], DAY_SPAN
    monday, final = first - timedelta(days=first.weekday()), last - timedelta(days=last.weekday())
    return (
        "week",
        [monday + timedelta(weeks=i) for i in range((final - monday).days // 7 + 1)],
        WEEK_SPAN,
    )


DAY_SPAN, WEEK_SPAN = timedelta(days=1), timedelta(days=7)


def week_starts(end: datetime, zone: tzinfo, weeks: int) -> list[date]:
    """Local Mondays of the last ``weeks`` weeks, the current (partial) week last."""
    today = end.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
