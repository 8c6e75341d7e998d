"""How the DORA figures read, for every consumer: the one place that decides the text.

The web dashboard, ``GET /api/v1/metrics/dora``, the bot's /devops and /morning, the
daily digest, ``dcc digest`` and Prometheus' ``/metrics`` all show a
:class:`~devops_center.dora.rules.DoraReport` through this module, so "0.5/day",
"20%", "4 h" and how failed and rolled-back deployments are counted are decided once:

* frequency: two decimals at most ("0.29/day", "0.5/day"), no trailing zeros;
* percentages: one decimal at most, no space ("20%", "12.5%"); deltas in points;
* durations: short units ("45 s", "4 h", "2 d");
* deployment statistics: total, successful, failed (status ``failed``) and rolled back
  (status ``rolled_back``) as separate figures; rolled back and in progress are shown
  when there are any. The change failure rate counts both.
* no data is "no data", never a fake zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_timedelta
from babel.units import format_unit

from devops_center import i18n
from devops_center.dora.rules import WINDOWS, DoraReport, Metric

TITLES = {
    "deployment_frequency": i18n.lazy("Deployment frequency"),
    "change_failure_rate": i18n.lazy("Change failure rate"),
    "lead_time": i18n.lazy("Change lead time"),
    "time_to_restore": i18n.lazy("Time to restore"),
    "rework_rate": i18n.lazy("Deployment rework rate"),
}
LEVELS = {
    "elite": i18n.lazy("Elite"),
    "high": i18n.lazy("High"),
    "medium": i18n.lazy("Medium"),
    "low": i18n.lazy("Low"),
}
LABELS = {"pipeline duration": i18n.lazy("pipeline duration")}
# How each figure is computed here (docs/dora.md has them beside DORA's and DevLake's).
DEFINITIONS = {
    "deployment_frequency": i18n.lazy(
        "Finished deployments started in the window, per day (in-progress ones count nowhere)."
    ),
    "change_failure_rate:deployments": i18n.lazy(
        "Failed and rolled-back deployments out of the finished deployments of the window."
    ),
    "change_failure_rate:incidents": i18n.lazy(
        "Deployments that caused an incident out of the finished deployments of the window: "
        "the incident names the deployment, or it is the last deployment of the incident's "
        "service before the incident opened (as DevLake counts)."
    ),
    "lead_time": i18n.lazy(
        "Median time from a commit to its first successful deployment, over the commits "
        "first deployed in the window."
    ),
    "time_to_restore": i18n.lazy(
        "Median time from opening to resolving, over the incidents resolved in the window."
    ),
    "rework_rate": i18n.lazy(
        "Rollback and hotfix deployments out of the finished deployments of the window."
    ),
}
TRENDS = {
    "better": i18n.lazy("better"),
    "worse": i18n.lazy("worse"),
    "same": i18n.lazy("unchanged"),
}
STAT_LABELS = {
    "total": i18n.lazy("Total"),
    "success": i18n.lazy("Successful"),
    "failed": i18n.lazy("Failed"),
    "rolled_back": i18n.lazy("Rolled back"),
    "in_progress": i18n.lazy("In progress"),
}
# The bot's lines (Telegram text), laid out as the sample /devops message of the SPEC.
DIGEST_STAT_LINES = {
    "total": i18n.lazy("• Total: %(n)s"),
    "success": i18n.lazy("• Successful: %(n)s"),
    "failed": i18n.lazy("• Failed: %(n)s"),
    "rolled_back": i18n.lazy("• Rolled back: %(n)s"),
    "in_progress": i18n.lazy("• In progress: %(n)s"),
}


# ------------------------------------------------------------------- values


def number(value: float, digits: int = 2) -> str:
    """0.5 → "0.5", 0.2857 → "0.29", 20.0 → "20", 30 → "30" (no trailing zeros)."""
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


@lru_cache(maxsize=4096)  # a page of deployment rows repeats the same few
def duration(seconds: float, lang: str) -> str:
    """A short human duration: "45 s", "4 h", "2 d" (localised)."""
    if seconds < 60:
        return i18n.gettext(lang, "%(n)s s", n=number(seconds, 0))
    return str(
        format_timedelta(
            timedelta(seconds=seconds),
            threshold=1.5,
            format="short",
            locale=Locale.parse(lang),
        )
    )


def per_day(value: float, lang: str) -> str:
    return i18n.gettext(lang, "%(n)s/day", n=number(value))


def percent(value: float) -> str:
    return f"{number(value, 1)}%"


def value_text(unit: str, value: float | None, lang: str) -> str:
    if value is None:
        return i18n.gettext(lang, "no data")
    if unit == "per_day":
        return per_day(value, lang)
    if unit == "percent":
        return percent(value)
    return duration(value, lang)


def metric_value(metric: Metric, lang: str) -> str:
    return value_text(metric.unit, metric.value, lang)


def delta_text(metric: Metric, lang: str) -> str | None:
    """ "+0.1/day", "−5 pp", "−2 h" against the previous window, or None."""
    delta = metric.delta
    if delta is None:
        return None
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    magnitude = abs(delta)
    if metric.unit == "per_day":
        body = per_day(magnitude, lang)
    elif metric.unit == "percent":
        body = i18n.gettext(lang, "%(n)s pp", n=number(magnitude, 1))
    else:
        body = duration(magnitude, lang)
    return f"{sign}{body}"


def title(metric: Metric, lang: str) -> str:
    return i18n.gettext(lang, TITLES.get(metric.key, metric.key))


def level_text(level: str | None, lang: str) -> str:
    return i18n.gettext(lang, LEVELS[level]) if level in LEVELS else "—"


def label_text(label: str | None, lang: str) -> str | None:
    if label is None:
        return None
    return i18n.gettext(lang, LABELS.get(label, label))


def trend_text(trend: str | None, lang: str) -> str | None:
    return i18n.gettext(lang, TRENDS[trend]) if trend in TRENDS else None


# -------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Stat:
    key: str  # total | success | failed | rolled_back | in_progress
    label: str
    value: int


def stats(report: DoraReport, lang: str) -> list[Stat]:
    """The deployment statistics of the window, as every channel shows them."""
    s = report.stats
    rows = [("total", s.total), ("success", s.success), ("failed", s.failed)]
    if s.rolled_back:
        rows.append(("rolled_back", s.rolled_back))
    if s.in_progress:
        rows.append(("in_progress", s.in_progress))
    return [Stat(k, i18n.gettext(lang, STAT_LABELS[k]), n) for k, n in rows]


# ------------------------------------------------------------------- the web


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    value: str
    level: str | None
    level_text: str
    delta: str | None
    trend: str | None
    trend_text: str | None
    previous: str
    label: str | None
    sample_size: int
    extra: dict[str, float | int | None] = field(default_factory=dict)
    p90: str | None = None
    definition: str = ""


def definition(metric: Metric, lang: str, *, cfr_mode: str = "deployments") -> str:
    """How ``metric`` is computed here, in one sentence (the change failure rate's
    depends on ``DCC_CFR_MODE``)."""
    key = f"{metric.key}:{cfr_mode}" if metric.key == "change_failure_rate" else metric.key
    text = DEFINITIONS.get(key)
    return i18n.gettext(lang, text) if text else ""


def cards(report: DoraReport, lang: str) -> list[Card]:
    """One card per figure on the dashboard."""
    out = []
    for metric in report.metrics:
        p90 = metric.extra.get("p90")
        out.append(
            Card(
                key=metric.key,
                title=title(metric, lang),
                value=metric_value(metric, lang),
                level=metric.level,
                level_text=level_text(metric.level, lang),
                delta=delta_text(metric, lang),
                trend=metric.trend,
                trend_text=trend_text(metric.trend, lang),
                previous=value_text(metric.unit, metric.previous, lang),
                label=label_text(metric.label, lang),
                sample_size=metric.sample_size,
                extra=dict(metric.extra),
                p90=(
                    duration(float(p90), lang)
                    if metric.unit == "seconds" and p90 is not None
                    else None
                ),
                definition=definition(metric, lang, cfr_mode=report.cfr_mode),
            )
        )
    return out


def chart_labels(report: DoraReport, lang: str) -> list[str]:
    """Each point's date in the reader's locale: "5 Dec" / "5 дек."."""
    return [_day_month(b, lang) for b in report.buckets]


@lru_cache(maxsize=1024)
def _day_month(day: str, lang: str) -> str:
    return format_date(date.fromisoformat(day), "d MMM", locale=lang)


def chart_caption(report: DoraReport, lang: str) -> str:
    """What one point of the charts is, and the span they cover (the selected window)."""
    points = len(report.buckets)
    if report.bucket == "day":
        return i18n.ngettext(
            lang,
            "One point a day over the last %(days)s days (%(num)s point); "
            "the figure above is the whole window.",
            "One point a day over the last %(days)s days (%(num)s points); "
            "the figure above is the whole window.",
            points,
            days=report.days,
        )
    return i18n.ngettext(
        lang,
        "One point a week (from Monday) over the last %(days)s days (%(num)s point); "
        "the figure above is the whole window.",
        "One point a week (from Monday) over the last %(days)s days (%(num)s points); "
        "the figure above is the whole window.",
        points,
        days=report.days,
    )


def chart_json(report: DoraReport, lang: str) -> str:
    """The series over the selected window for dora.js, as JSON for a
    ``<script type="application/json">``: labels, both axes' titles, values."""
    axes = {
        "per_day": i18n.gettext(lang, "deployments per day"),
        "percent": i18n.gettext(lang, "% of deployments"),
        "seconds": i18n.gettext(lang, "hours"),
    }
    x_axis = (
        i18n.gettext(lang, "day") if report.bucket == "day" else i18n.gettext(lang, "week starting")
    )
    data = {
        "bucket": report.bucket,
        "starts": report.buckets,
        "labels": chart_labels(report, lang),
        "x_axis": x_axis,
        "metrics": {
            m.key: {
                "title": title(m, lang),
                "unit": m.unit,
                "values": [
                    None if v is None else (round(v / 3600, 2) if m.unit == "seconds" else v)
                    for _w, v in m.series
                ],
                "axis": axes.get(m.unit, ""),
            }
            for m in report.metrics
        },
    }
    # "</" can't end the script element early: JSON allows the escaped form.
    return json.dumps(data).replace("</", "<\\/")


def dashboard(report: DoraReport, lang: str) -> dict[str, Any]:
    """What ``/admin/devops`` shows of the report (cards, statistics, charts, windows)."""
    return {
        "report": report,
        "cards": cards(report, lang),
        "stats": stats(report, lang),
        "chart_json": chart_json(report, lang),
        "chart_caption": chart_caption(report, lang),
        "windows": sorted({*WINDOWS, report.days}),
    }


# -------------------------------------------------------------------- the API


def api_body(report: DoraReport) -> dict[str, Any]:
    """``GET /api/v1/metrics/dora``: the figures as numbers (units named, null = no data)."""
    return report.as_dict()


# ----------------------------------------------------- the bot and the digest


def digest_lines(report: DoraReport | None, lang: str) -> list[str]:
    """The DORA block of /devops (Telegram HTML-safe: no user data in it)."""
    if report is None:
        return [i18n.gettext(lang, "📊 DORA metrics: no data yet")]
    days = format_unit(report.days, "duration-day", length="long", locale=lang)
    lines = [i18n.gettext(lang, "📊 DORA Metrics (%(days)s):", days=days)]
    lines.append(
        i18n.gettext(
            lang,
            "🚀 Deployment Frequency: %(value)s",
            value=metric_value(report.deployment_frequency, lang),
        )
    )
    lines.append(
        i18n.gettext(
            lang,
            "❌ Change Failure Rate: %(value)s",
            value=metric_value(report.change_failure_rate, lang),
        )
    )
    # Only real commit data: the pipeline-duration fallback (label set) is not lead time.
    lead = report.lead_time
    if lead.value is not None and lead.label is None:
        lines.append(
            i18n.gettext(lang, "⏱ Lead Time for Changes: %(value)s", value=metric_value(lead, lang))
        )
    if report.time_to_restore.value is not None:
        lines.append(
            i18n.gettext(
                lang,
                "🛠 Time to Restore: %(value)s",
                value=metric_value(report.time_to_restore, lang),
            )
        )
    lines.append(i18n.gettext(lang, "📈 Deployment statistics:"))
    for stat in stats(report, lang):
        lines.append(i18n.gettext(lang, DIGEST_STAT_LINES[stat.key], n=stat.value))
    return lines


# ----------------------------------------------------------------- Prometheus


@dataclass(frozen=True)
class Gauge:
    name: str
    doc: str
    labels: list[str]
    samples: list[tuple[list[str], float]]


PROMETHEUS = {
    "deployment_frequency": (
        "dcc_dora_deployment_frequency_per_day",
        "DORA deployment frequency: deployments per day in the window.",
        1.0,
    ),
    "change_failure_rate": (
        "dcc_dora_change_failure_ratio",
        "DORA change failure rate: failed or rolled back / deployments.",
        0.01,
    ),
    "lead_time": (
        "dcc_dora_lead_time_seconds",
        "DORA change lead time (median) in the window.",
        1.0,
    ),
    "time_to_restore": (
        "dcc_dora_time_to_restore_seconds",
        "DORA time to restore service (median) in the window.",
        1.0,
    ),
    "rework_rate": (
        "dcc_dora_rework_ratio",
        "DORA rework rate: unplanned (hotfix, rollback) deployments / deployments.",
        0.01,
    ),
}


def prometheus(report: DoraReport) -> list[Gauge]:
    """The gauges of ``/metrics``: the report's numbers in base units (ratios, seconds)."""
    window = f"{report.days}d"
    s = report.stats
    out = [
        Gauge(
            "dcc_deployments",
            "Deployments started in the DORA window by status (production).",
            ["status", "window"],
            [
                ([status, window], float(n))
                for status, n in (
                    ("success", s.success),
                    ("failed", s.failed),
                    ("rolled_back", s.rolled_back),
                    ("in_progress", s.in_progress),
                )
            ],
        )
    ]
    for metric in report.metrics:
        name, doc, scale = PROMETHEUS[metric.key]
        samples = [] if metric.value is None else [([window], metric.value * scale)]
        out.append(Gauge(name, doc, ["window"], samples))
    return out
