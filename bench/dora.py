"""Benchmark: the DORA report (``/admin/devops`` and ``GET /api/v1/metrics/dora``) at scale.

For each database (SQLite, then PostgreSQL when reachable) and each size (10,000 then
1,000,000 deployments over 5 years across 100 services, two commits per deployment and
one incident per 20 deployments, bulk-inserted), it prints p50/p95 over 200 requests of
the page and of the API (in-process ASGI, signed-in owner / metrics token), and of the
bare ``dora_report`` call (the SQL aggregates alone) in the same run.

Targets (issue 5): p95 ≤ 100 ms at 1M on both databases; p95(1M) ≤ 1.5 × p95(10k);
p95 ≤ 3 × the bare SQL. Exits 1 when a target is missed.

    python bench/dora.py                      # the full run (several minutes)
    DCC_BENCH_SIZES=2000 DCC_BENCH_REQUESTS=10 python bench/dora.py   # a smoke run
    DCC_BENCH_DBS=sqlite DCC_BENCH_COLD_REQUESTS=20 python bench/dora.py  # one database
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from devops_center.config import get_settings  # noqa: E402
from devops_center.db import make_engine, make_sessionmaker  # noqa: E402
from devops_center.dora import service as dora  # noqa: E402
from devops_center.migrations import runner  # noqa: E402
from devops_center.users import service as users  # noqa: E402

SIZES = [int(s) for s in os.environ.get("DCC_BENCH_SIZES", "10000,1000000").split(",")]
REQUESTS = int(os.environ.get("DCC_BENCH_REQUESTS", "200"))
# The uncached measurements (bare SQL, API right after a write) take seconds each at 1M
# rows on SQLite; fewer samples of them keep the run within minutes when asked.
COLD_REQUESTS = int(os.environ.get("DCC_BENCH_COLD_REQUESTS", str(REQUESTS)))
DATABASES = os.environ.get("DCC_BENCH_DBS", "sqlite,postgresql").split(",")
SERVICES = int(os.environ.get("DCC_BENCH_SERVICES", "100"))
YEARS = 5
PG_DSN = os.environ.get("DCC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_P95_MS = 100.0
TARGET_GROWTH = 1.5
TARGET_OVER_SQL = 3.0
PASSWORD = "bench password 1"

DEPLOY_COLUMNS = (
    "id", "commit_sha", "commit_message", "started_at", "completed_at", "status",
    "duration_seconds", "triggered_by", "tests_passed", "tests_failed", "environment",
    "service", "kind", "external_id", "source", "url", "created_at", "updated_at",
)  # fmt: skip
COMMIT_COLUMNS = ("id", "deployment_id", "sha", "committed_at", "message", "author")
INCIDENT_COLUMNS = (
    "id", "title", "description", "source", "source_ref", "service", "environment",
    "severity", "deployment_id", "resolved_by_deployment_id", "bug_id", "opened_at",
    "resolved_at", "opened_by", "resolved_by",
)  # fmt: skip


# ------------------------------------------------------------------------ data


def generate(n: int, now: datetime, seed: int = 5) -> tuple[list[tuple], list[tuple], list[tuple]]:
    rng = random.Random(seed)
    span = YEARS * 365 * 86400
    deployments, commits, incidents = [], [], []
    commit_id = 0
    for i in range(1, n + 1):
        started = now - timedelta(seconds=rng.random() * span)
        roll = rng.random()
        status = "failed" if roll < 0.1 else "rolled_back" if roll < 0.13 else "success"
        if i % 5000 == 0:
            status = "in_progress"
        kind = "hotfix" if rng.random() < 0.05 else "rollback" if rng.random() < 0.02 else "normal"
        duration = rng.randint(60, 1200)
        done = None if status == "in_progress" else started + timedelta(seconds=duration)
        sha = f"{rng.getrandbits(160):040x}"
        deployments.append(
            (
                i, sha, "change", started, done, status,
                None if done is None else duration, "ci", 200, 0, "production",
                f"service-{i % SERVICES:03d}", kind, f"bench-{i}", "api", None, started,
                started,
            )
        )  # fmt: skip
        for c in range(2):
            commit_id += 1
            commits.append(
                (
                    commit_id, i, sha if c == 0 else f"{rng.getrandbits(160):040x}",
                    started - timedelta(hours=rng.uniform(0.1, 72)), "commit", "dev",
                )
            )  # fmt: skip
        if i % 20 == 0:
            opened = started + timedelta(seconds=duration)
            resolved = (
                None if rng.random() < 0.02 else opened + timedelta(hours=rng.expovariate(0.3))
            )
            incidents.append(
                (
                    len(incidents) + 1, "incident", None, "deployment", f"ref-{i}",
                    f"service-{i % SERVICES:03d}", "production", "high", i, None, None, opened,
                    resolved, None, None,
                )
            )  # fmt: skip
    return deployments, commits, incidents


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return v


def chunks(rows: list[tuple], size: int = 50_000) -> Iterator[list[tuple]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def load_sqlite(path: Path, data: tuple[list[tuple], list[tuple], list[tuple]]) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        for table, columns, rows in zip(
            ("deployments", "deployment_commits", "incidents"),
            (DEPLOY_COLUMNS, COMMIT_COLUMNS, INCIDENT_COLUMNS),
            data,
            strict=True,
        ):
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            for part in chunks(rows):
                conn.executemany(sql, [tuple(_sqlite_value(v) for v in r) for r in part])
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


async def load_postgres(dsn: str, data: tuple[list[tuple], list[tuple], list[tuple]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for table, columns, rows in zip(
            ("deployments", "deployment_commits", "incidents"),
            (DEPLOY_COLUMNS, COMMIT_COLUMNS, INCIDENT_COLUMNS),
            data,
            strict=True,
        ):
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# --------------------------------------------------------------------- timings


async def timed(n: int, fn: Callable[[], Awaitable[Any]]) -> list[float]:
    await fn()  # warm-up
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def measure(database_url: str, var: Path) -> dict[str, tuple[float, float]]:
    from devops_center.web.app import create_app

    settings = get_settings(
        database_url=database_url, var_dir=var, secret_key="bench-" + "x" * 40, checks=[]
    )
    engine = make_engine(settings.database_url, pool_size=5)
    sm = make_sessionmaker(engine)
    async with sm() as s, s.begin():
        await users.create_user(
            s, name="Bench", role="owner", email="bench@bench.local", password=PASSWORD
        )
        _t, token = await users.create_token(s, name="bench", scopes=["metrics:read"])
    app = create_app(settings, engine=engine, sessionmaker=sm)
    results: dict[str, tuple[float, float]] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        form = await client.get("/login")
        csrf = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
        assert csrf, "no CSRF token on /login"
        signed = await client.post(
            "/login",
            data={"csrftoken": csrf.group(1), "email": "bench@bench.local", "password": PASSWORD},
        )
        assert signed.status_code == 303, signed.text

        async def page() -> None:
            r = await client.get("/admin/devops")
            assert r.status_code == 200, r.status_code

        async def api() -> None:
            r = await client.get(
                "/api/v1/metrics/dora", headers={"authorization": f"Bearer {token}"}
            )
            assert r.status_code == 200, r.status_code

        async def bare() -> None:
            async with sm() as s:
                await dora.dora_report(s, days=30, tz=settings.timezone)

        async def api_cold() -> None:
            async with sm() as s, s.begin():
                await dora.invalidate(s)  # as if a deployment had just been recorded
            await api()

        for name, fn in (("sql", bare), ("api", api), ("page", page), ("api_cold", api_cold)):
            values = await timed(COLD_REQUESTS if name in ("sql", "api_cold") else REQUESTS, fn)
            results[name] = (p(values, 0.5), p(values, 0.95))
    await engine.dispose()
    return results


async def run_sqlite(n: int, tmp: Path, now: datetime) -> dict[str, tuple[float, float]]:
    path = tmp / f"bench-{n}.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    runner.upgrade(url)
    t0 = time.perf_counter()
    load_sqlite(path, generate(n, now))
    print(f"  sqlite: loaded {n:,} deployments in {time.perf_counter() - t0:.1f}s", flush=True)
    try:
        return await measure(url, tmp / "var")
    finally:
        path.unlink(missing_ok=True)


async def run_postgres(n: int, tmp: Path, now: datetime) -> dict[str, tuple[float, float]] | None:
    try:
        admin = await asyncpg.connect(PG_DSN, timeout=5)
    except Exception as exc:
        print(f"  postgresql unavailable ({type(exc).__name__}): skipped")
        return None
    name = f"dcc_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    try:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        await asyncio.to_thread(runner.upgrade, url)
        t0 = time.perf_counter()
        await load_postgres(dsn, generate(n, now))
        print(f"  postgresql: loaded {n:,} deployments in {time.perf_counter() - t0:.1f}s")
        return await measure(url, tmp / "var")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def report(db: str, figures: dict[int, dict[str, tuple[float, float]]]) -> list[str]:
    failures = []
    sizes = sorted(figures)
    for n in sizes:
        f = figures[n]
        print(
            f"  {db:<10} {n:>9,}  "
            + "  ".join(
                f"{k} p50 {f[k][0]:7.1f} ms p95 {f[k][1]:7.1f} ms"
                for k in ("sql", "api", "page", "api_cold")
            )
        )
    big, small = sizes[-1], sizes[0]
    for kind in ("api", "page"):
        p95 = figures[big][kind][1]
        sql = figures[big]["sql"][1]
        checks = [
            (f"{db} {kind} p95 at {big:,} ≤ {TARGET_P95_MS:.0f} ms", p95, p95 <= TARGET_P95_MS),
            (
                f"{db} {kind} p95 at {big:,} ≤ {TARGET_OVER_SQL} × bare SQL ({sql:.1f} ms)",
                p95 / sql if sql else 0.0,
                p95 <= TARGET_OVER_SQL * sql,
            ),
        ]
        if big != small:
            ratio = p95 / figures[small][kind][1]
            checks.append(
                (
                    f"{db} {kind} p95({big:,}) ≤ {TARGET_GROWTH} × p95({small:,})",
                    ratio,
                    ratio <= TARGET_GROWTH,
                )
            )
        for label, value, ok in checks:
            print(f"    {'PASS' if ok else 'MISS'}  {label}: {value:.2f}")
            if not ok:
                failures.append(label)
    return failures


async def main() -> int:
    now = datetime.now(UTC)
    failures: list[str] = []
    print(f"DORA benchmark: sizes {SIZES}, {SERVICES} services, {REQUESTS} requests each")
    with tempfile.TemporaryDirectory(prefix="dcc-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for db in DATABASES:
            figures: dict[int, dict[str, tuple[float, float]]] = {}
            for n in SIZES:
                if db == "sqlite":
                    figures[n] = await run_sqlite(n, tmp, now)
                else:
                    got = await run_postgres(n, tmp, now)
                    if got is None:
                        break
                    figures[n] = got
            if figures:
                failures += report(db, figures)
    print(f"{len(failures)} target(s) missed" if failures else "all targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
