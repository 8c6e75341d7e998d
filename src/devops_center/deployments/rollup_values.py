"""The values the DORA roll-ups store, and how they are written, read and joined in SQL:
shared by the write path (:mod:`~devops_center.deployments.rollups`), the day rows
(:mod:`~devops_center.deployments.rollup_days`), the rebuild and the report."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, all_, any_, bindparam, cast, func, literal_column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine

# The service of the rows that hold a whole environment's day (no real service is
# named so: the API requires a name). The report of all services reads one row a day.
ALL_SERVICES = ""
CHUNK = 500  # values per IN (…): far below every database's limit
PG_CHUNK = 10_000  # values per = ANY(array) on PostgreSQL: one parameter whatever its length
COUNTS = ("total", "running", "success", "failed", "rolled_back", "rework")


def lead_us(completed: datetime, committed: datetime) -> int:
    """Completed − committed in whole microseconds (what every path stores)."""
    return (completed - committed) // timedelta(microseconds=1)


def join_values(values: Iterable[int]) -> str | None:
    text_ = ",".join(str(v) for v in values)
    return text_ or None


def split_values(value: str | None) -> list[int]:
    # json's C parser reads a long list of integers several times faster than int()
    return list(json.loads(f"[{value}]")) if value else []


def joined_values(column: Any, dialect: str) -> Any:
    """SQL: a group's integers (or comma-separated texts of them), comma-separated — what
    :func:`split_values` reads; NULLs are left out."""
    if dialect == "postgresql":
        return func.string_agg(cast(column, Text), literal_column("','"))
    return func.group_concat(column, literal_column("','"))


def chunks(values: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def among(conn: Connection | Engine, column: Any, values: list[Any]) -> Any:
    """SQL: ``column`` is one of ``values`` — on PostgreSQL ``= ANY(:array)``, one
    parameter however many values (an IN list of thousands costs more to render and
    to plan than to run), elsewhere ``IN (…)``."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def not_among(conn: Connection, column: Any, values: list[Any]) -> list[Any]:
    """SQL conditions: ``column`` is none of ``values`` — on PostgreSQL one
    ``<> ALL(:array)``; elsewhere none (the caller filters the rows itself: an IN list
    of thousands costs SQLite more than the rows it would spare)."""
    if conn.dialect.name == "postgresql" and values:
        return [column != all_(bindparam(None, values, type_=ARRAY(column.type)))]
    return []


def parts(conn: Connection, values: list[Any]) -> Iterable[list[Any]]:
    """``values`` in the slices one :func:`among` takes on this database."""
    return chunks(values, PG_CHUNK if conn.dialect.name == "postgresql" else CHUNK)
