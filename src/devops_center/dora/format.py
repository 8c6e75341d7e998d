"""How DORA figures read, in Russian and English: one place for web, bot and digests.

``0.5/day``, ``20 %``, ``4 h``; "no data" instead of a fake zero.
"""

from __future__ import annotations

from datetime import timedelta

from babel import Locale
from babel.dates import format_timedelta

from devops_center import i18n
from devops_center.dora.service import Metric

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
TRENDS = {
    "better": i18n.lazy("better"),
    "worse": i18n.lazy("worse"),
    "same": i18n.lazy("unchanged"),
}


def number(value: float, digits: int = 2) -> str:
    """0.5 → "0.5", 0.2857 → "0.29", 20.0 → "20" (no trailing zeros)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


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


def value_text(key: str, unit: str, value: float | None, lang: str) -> str:
    if value is None:
        return i18n.gettext(lang, "no data")
    if unit == "per_day":
        return i18n.gettext(lang, "%(n)s/day", n=number(value))
    if unit == "percent":
        return f"{number(value, 1)} %"
    return duration(value, lang)


def metric_value(metric: Metric, lang: str) -> str:
    return value_text(metric.key, metric.unit, metric.value, lang)


def delta_text(metric: Metric, lang: str) -> str | None:
    """ "+0.1/day", "−5 %", "−2 h" against the previous window, or None."""
    delta = metric.delta
    if delta is None:
        return None
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    magnitude = abs(delta)
    if metric.unit == "per_day":
        body = i18n.gettext(lang, "%(n)s/day", n=number(magnitude))
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
