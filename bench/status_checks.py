"""Benchmark of the status checks, on SQLite and PostgreSQL.

1. Probe throughput: N configured HTTP checks against a local server, run as real
   ``status.check`` jobs by W concurrent workers (claim → probe → record → state).
2. The uptime query the dashboard, the bot and /metrics use (``current_states``: uptime
   over 24 h / 7 d / 30 d for every check) over 30 days of history: raw results every
   minute for the last 7 days plus hourly roll-ups before, as retention leaves them.

Prints the figures and exits non-zero when a target is missed.
``python bench/status_checks.py [--checks 200] [--history-checks 50] [--days 30]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scratch_pg  # run as a script, or loaded from its file by the smoke test

# Targets (2-core CI machine, both databases).
TARGET_RESULTS_PER_S = 10.0  # 200 checks every 60 s (the default) need 3.3/s
TARGET_UPTIME_P95_MS = 500.0


class Server:
    """A minimal HTTP server answering 200 to everything."""

    def __init__(self) -> None:
        self.port = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


async def _pg_database() -> tuple[str, Any] | None:
    host = os.environ.get("DCC_TEST_PG_HOST", "127.0.0.1")
    user = os.environ.get("DCC_TEST_PG_USER", "postgres")
    password = os.environ.get("DCC_TEST_PG_PASSWORD", "")
    auth = user + (f":{password}" if password else "")
    admin = f"postgresql://{auth}@{host}:5432/postgres"
    dsn = await scratch_pg.create("dcc_bench_status", admin)
    if dsn is None:
        return None

    async def drop() -> None:
        await scratch_pg.drop(dsn, admin)

    return scratch_pg.asyncpg_url(dsn), drop


async def run_one(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    from devops_center.config import get_settings
    from devops_center.db import make_engine, make_sessionmaker, utcnow
    from devops_center.migrations import runner
    from devops_center.outbox import messages
    from devops_center.outbox import service as outbox
    from devops_center.status import service as status
    from devops_center.status.models import CheckResult, CheckRollup
    from devops_center.worker import drain

    await asyncio.to_thread(runner.upgrade, url)
    server = Server()
    await server.start()
    checks = [
        {"name": f"svc-{i:03d}", "type": "http", "url": f"http://127.0.0.1:{server.port}/{i}"}
        for i in range(args.checks)
    ]
    settings = get_settings(
        database_url=url,
        var_dir=tmp / "var",
        secret_key="b" * 40,
        checks=checks,
        config_file=None,
    )
    engine = make_engine(url, pool_size=args.workers + 2)
    sm = make_sessionmaker(engine)
    figures: dict[str, float] = {}
    try:
        # 1. probe throughput through the real job
        async with sm() as s, s.begin():
            for c in checks:
                await outbox.enqueue(s, messages.RunCheck(name=c["name"]))
        started = time.perf_counter()
        ran = await asyncio.gather(
            *(drain(settings, sm, kinds=["status.check"]) for _ in range(args.workers))
        )
        elapsed = time.perf_counter() - started
        assert sum(ran) == args.checks, ran
        figures["results_per_s"] = args.checks / elapsed

        # 2. 30 days of history for the uptime query
        now = utcnow()
        raw_from = now - status.RAW_RETENTION
        names = [f"hist-{i:03d}" for i in range(args.history_checks)]
        batch: list[dict[str, Any]] = []
        rows = 0
        async with sm() as s, s.begin():
            for name in names:
                at = raw_from
                while at < now:
                    ok = int(hash((name, at.minute, at.hour)) % 500 != 0)
                    batch.append(
                        {
                            "check_name": name,
                            "ok": ok,
                            "state": "up" if ok else "pending",
                            "response_ms": 20.0 + at.second,
                            "message": None,
                            "checked_at": at,
                        }
                    )
                    at += timedelta(minutes=1)
                    if len(batch) >= 20_000:
                        await s.execute(insert(CheckResult), batch)
                        rows += len(batch)
                        batch = []
            if batch:
                await s.execute(insert(CheckResult), batch)
                rows += len(batch)
            roll = []
            for name in names:
                hour = (now - timedelta(days=args.days)).replace(minute=0, second=0, microsecond=0)
                while hour < raw_from:
                    roll.append(
                        {
                            "check_name": name,
                            "hour": hour,
                            "samples": 60,
                            "ups": 60,
                            "maintenance": 0,
                            "response_ms_avg": 21.0,
                            "response_ms_max": 80.0,
                        }
                    )
                    hour += timedelta(hours=1)
            await s.execute(insert(CheckRollup), roll)
            await status.set_rolled_until(s, raw_from)
        # The hourly retention job folds the week of raw results into roll-ups.
        t0 = time.perf_counter()
        async with sm() as s, s.begin():
            await status.roll_up(s)
        figures["roll_up_s"] = time.perf_counter() - t0
        figures["raw_rows"] = rows
        figures["rollup_rows"] = len(roll)
        hist_settings = get_settings(
            database_url=url,
            var_dir=tmp / "var",
            secret_key="b" * 40,
            config_file=None,
            checks=[{"name": n, "type": "tcp", "host": "127.0.0.1", "port": 9} for n in names],
        )
        timings = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            async with sm() as s:
                views = await status.current_states(s, hist_settings)
            timings.append((time.perf_counter() - t0) * 1000)
        assert sum(1 for v in views if v.uptime_30d is not None) == len(names)
        figures["uptime_p50_ms"] = statistics.median(timings)
        figures["uptime_p95_ms"] = p95(timings)
    finally:
        await engine.dispose()
        await server.stop()
    return figures


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--history-checks", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    failed = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        targets: list[tuple[str, str, Any]] = [
            ("sqlite", f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}", None)
        ]
        if not args.sqlite_only:
            pg = await _pg_database()
            if pg is not None:
                targets.append(("postgresql", pg[0], pg[1]))
        for label, url, cleanup in targets:
            try:
                f = await run_one(url, args, tmp)
            finally:
                if cleanup is not None:
                    await cleanup()
            print(
                f"{label:>10}: {args.checks} checks, {args.workers} workers: "
                f"{f['results_per_s']:.0f} results/s (target ≥ {TARGET_RESULTS_PER_S:.0f}); "
                f"uptime 24h/7d/30d of {args.history_checks} checks over "
                f"{int(f['raw_rows'])} raw + {int(f['rollup_rows'])} roll-up rows: "
                f"p50 {f['uptime_p50_ms']:.0f} ms, p95 {f['uptime_p95_ms']:.0f} ms "
                f"(target ≤ {TARGET_UPTIME_P95_MS:.0f} ms); first roll-up of the week "
                f"{f['roll_up_s']:.1f} s"
            )
            if f["results_per_s"] < TARGET_RESULTS_PER_S:
                failed.append(f"{label}: results/s {f['results_per_s']:.1f}")
            if f["uptime_p95_ms"] > TARGET_UPTIME_P95_MS:
                failed.append(f"{label}: uptime p95 {f['uptime_p95_ms']:.0f} ms")
    if failed:
        print("MISSED: " + "; ".join(failed))
        return 1
    print("status_checks: all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
