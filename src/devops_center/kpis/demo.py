"""The demo's business KPI: "Active shifts" from a small SQLite file of shifts under var/.

It stands in for the team's own database (StaffProBot, the product this was first built
for, counts active shifts); a real installation configures ``[[kpis]]`` in dcc.toml with
a read-only DSN instead.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from devops_center.config import KpiConfig, Settings

ACTIVE_SHIFTS_SQL = "SELECT count(*) FROM shifts WHERE ended_at IS NULL"


def ensure_source(settings: Settings) -> str:
    """Create ``var/demo_shifts.sqlite3`` once (5 open shifts, 20 closed); returns its DSN."""
    path = settings.var_dir / "demo_shifts.sqlite3"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC).replace(microsecond=0)
        with sqlite3.connect(path) as conn:
            conn.execute(
                "CREATE TABLE shifts (id INTEGER PRIMARY KEY, employee TEXT NOT NULL, "
                "started_at TEXT NOT NULL, ended_at TEXT)"
            )
            rows = []
            for i in range(25):
                start = now - timedelta(hours=8 + i * 3)
                end = None if i < 5 else (start + timedelta(hours=8)).isoformat()
                rows.append((f"Employee {i + 1}", start.isoformat(), end))
            conn.executemany(
                "INSERT INTO shifts (employee, started_at, ended_at) VALUES (?, ?, ?)", rows
            )
        conn.close()
    return f"sqlite+aiosqlite:///{path.resolve()}"


def with_demo_kpi(settings: Settings) -> Settings:
    """The settings with the demo KPI, unless dcc.toml configures KPIs of its own."""
    if settings.kpis:
        return settings
    kpi = KpiConfig(
        name="Active shifts",
        name_ru="Активных смен",
        sql=ACTIVE_SHIFTS_SQL,
        dsn=ensure_source(settings),
    )
    return settings.model_copy(update={"kpis": [kpi]})
