"""Local calendar days of UTC timestamps, in Python and in SQL (``DCC_TIMEZONE``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, literal

from devops_center.db import UTCDateTime


def zone_of(name: str | tzinfo | None) -> tzinfo:
    if name is None:
        return UTC
    if isinstance(name, str):
        return UTC if name in ("UTC", "Etc/UTC") else ZoneInfo(name)
    return name


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or ("UTC" if zone is UTC else zone))


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_date(at: datetime, zone: tzinfo) -> date:
    if at.tzinfo is None or at.tzinfo is UTC:
        if zone is UTC:
            return at.date()  # the default zone: no conversion (an import's every row)
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).date()


def offset_segments(zone: tzinfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """[(from_utc, utc_offset_seconds)] covering [lo, hi): DST changes split the range."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    segments = [(lo, offset(lo))]
    step = timedelta(hours=6)
    cursor = lo
    while cursor < hi:
        nxt = min(cursor + step, hi)
        if offset(nxt) != segments[-1][1]:
            a, b = cursor, nxt  # bisect to the minute
            while b - a > timedelta(minutes=1):
                mid = a + (b - a) / 2
                if offset(mid) == segments[-1][1]:
                    a = mid
                else:
                    b = mid
            segments.append((b, offset(b)))
        cursor = nxt
    return segments


def local_day_sql(
    column: Any, dialect: str, zone: tzinfo, lo: datetime, hi: datetime
) -> ColumnElement[Any]:
    """SQL for the local calendar day of a UTC timestamp column (rows in [lo, hi))."""
    if dialect == "postgresql":
        return func.date(func.timezone(zone_name(zone), column))
    segments = offset_segments(zone, lo, hi)

    def shifted(seconds: int) -> ColumnElement[Any]:
        if seconds == 0:
            return func.date(column)
        return func.date(column, f"{seconds:+d} seconds")

    if len(segments) == 1:
        return shifted(segments[0][1])
    whens = [
        (column < literal(segments[i + 1][0], UTCDateTime()), shifted(segments[i][1]))
        for i in range(len(segments) - 1)
    ]
    return case(*whens, else_=shifted(segments[-1][1]))


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
