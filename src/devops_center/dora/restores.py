"""Time to restore: the incidents resolved in a report's span, per window and per week,
and the open ones."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import UTCDateTime
from devops_center.dora.samples import Sample
from devops_center.incidents.models import Incident

_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_us(column: Any) -> Any:
    """A PostgreSQL ``timestamptz`` as whole µs since the epoch (``extract`` is exact:
    numeric)."""
    return cast(func.extract("epoch", column) * 1_000_000, BigInteger)


@lru_cache(maxsize=4)
def _restores_pg(by_service: bool) -> Any:
    """One row: the resolution times and durations (whole µs, computed by the database)
    of the incidents resolved in [lo, end), in resolution order, and the open count — a
    row per incident of the 13 weeks cost more to turn into Python than the rest of the
    report's reads. Built once, its values bound."""
    scope = (
        Incident.environment == bindparam("environment", type_=String()),
        *([Incident.service == bindparam("service", type_=String())] if by_service else []),
    )
    resolved_us, opened_us = _epoch_us(Incident.resolved_at), _epoch_us(Incident.opened_at)
    by_resolution = Incident.resolved_at
    return select(
        func.array_agg(aggregate_order_by(resolved_us, by_resolution)),
        func.array_agg(aggregate_order_by(resolved_us - opened_us, by_resolution)),
        select(func.count())
        .select_from(Incident)
        .where(Incident.resolved_at.is_(None), *scope)
        .scalar_subquery(),
    ).where(
        Incident.resolved_at >= bindparam("lo", type_=UTCDateTime()),
        Incident.resolved_at < bindparam("end", type_=UTCDateTime()),
        *scope,
    )


def _to_us(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


async def restore_percentiles(
    session: AsyncSession,
    *,
    environment: str,
    service: str | None,
    window_starts: list[datetime],
    week_bounds: list[datetime],
    end: datetime,
) -> tuple[dict[int, Sample], dict[int, Sample], int]:
    """Time to restore of the incidents resolved (per window, per week), and how many
    are open: the incidents resolved in the span (a few a day) are read in the order
    they were resolved, the open ones counted, both from ``ix_incidents_env_resolved``
    alone."""
    lo = min(window_starts[0], week_bounds[0])
    resolved: Sequence[Any]
    values: Sequence[int]
    if session.get_bind().dialect.name == "postgresql":
        params = {"lo": lo, "end": end, "environment": environment}
        if service:
            params["service"] = service
        found = (await session.execute(_restores_pg(bool(service)), params)).one()
        resolved, values, opened = found[0] or [], found[1] or [], found[2]
        starts: Sequence[Any] = [_to_us(at) for at in window_starts]
        weeks: Sequence[Any] = [_to_us(at) for at in week_bounds]
    else:
        scope = (
            Incident.environment == environment,
            *([Incident.service == service] if service else []),
        )
        open_count = (
            # counted where they are: the open ones pile up with the history
            select(func.count())
            .select_from(Incident)
            .where(Incident.resolved_at.is_(None), *scope)
            .scalar_subquery()
        )
        span = (Incident.resolved_at >= lo, Incident.resolved_at < end, *scope)
        stmt = select(Incident.resolved_at, Incident.opened_at, open_count).where(*span)
        rows = (await session.execute(stmt.order_by(Incident.resolved_at))).all()
        resolved = [r for r, _o, _n in rows]
        values = [(r - o) // _MICROSECOND for r, o, _n in rows]
        opened = rows[0][2] if rows else await session.scalar(select(open_count))
        starts, weeks = window_starts, week_bounds

    def samples(bounds: Sequence[Any]) -> dict[int, Sample]:
        """The values of each bucket [bounds[i], bounds[i + 1]) — the last up to the end."""
        cuts = [bisect_left(resolved, bound) for bound in bounds] + [len(resolved)]
        out: dict[int, Sample] = {}
        for i, (a, b) in enumerate(pairwise(cuts)):
            if b > a:
                out[i] = Sample(1_000_000)
                out[i].add(list(values[a:b]))
        return out

    return samples(starts), samples(weeks), int(opened or 0)
