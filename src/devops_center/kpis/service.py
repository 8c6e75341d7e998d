"""Business KPIs for /morning: each ``[[kpis]]`` entry of dcc.toml is one SQL query.

A query runs on a read-only DSN of the team's own database, or on ours when ``dsn`` is
not set. It must return one number (first column of the first row). A failing or slow
query shows as "n/a" with its error; it never breaks the digest.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from devops_center.config import KpiConfig, Settings, normalize_database_url

log = logging.getLogger("devops_center.kpis")

TIMEOUT = 10.0


@dataclass(frozen=True)
class KpiValue:
    name: str
    name_ru: str | None
    value: float | None
    unit: str = ""
    error: str | None = None

    def label(self, lang: str) -> str:
        return self.name_ru if lang == "ru" and self.name_ru else self.name

    def display(self) -> str:
        if self.value is None:
            return "n/a"
        number = int(self.value) if float(self.value).is_integer() else round(self.value, 2)
        return f"{number}{(' ' + self.unit) if self.unit else ''}"


def _number(raw: object) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, int | float | Decimal):
        return float(raw)
    return float(str(raw))


def _read_only_engine(dsn: str) -> AsyncEngine:
    """An engine that cannot write: SQLite opened with mode=ro, PostgreSQL read-only."""
    url = make_url(normalize_database_url(dsn))
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not path.is_file():
            raise FileNotFoundError(f"no SQLite database at {path}")
        return create_async_engine(
            f"sqlite+aiosqlite:///file:{path.resolve()}?mode=ro&uri=true", poolclass=NullPool
        )
    return create_async_engine(
        url,
        poolclass=NullPool,
        connect_args={"server_settings": {"default_transaction_read_only": "on"}},
    )


async def _scalar_on_dsn(dsn: str, sql: str) -> object:
    engine = _read_only_engine(dsn)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def evaluate_one(session: AsyncSession, kpi: KpiConfig) -> KpiValue:
    try:
        if kpi.dsn:
            raw = await asyncio.wait_for(_scalar_on_dsn(kpi.dsn, kpi.sql), TIMEOUT)
        else:
            async with session.begin_nested():
                raw = (await session.execute(text(kpi.sql))).scalar()
        return KpiValue(kpi.name, kpi.name_ru, _number(raw), kpi.unit)
    except Exception as exc:  # a KPI must never break the digest
        log.warning("KPI %r failed: %s: %s", kpi.name, type(exc).__name__, exc)
        return KpiValue(kpi.name, kpi.name_ru, None, kpi.unit, error=type(exc).__name__)


async def evaluate(session: AsyncSession, *, settings: Settings) -> list[KpiValue]:
    """Every configured KPI, in configuration order."""
    return [await evaluate_one(session, kpi) for kpi in settings.kpis]
