"""Faults under load: the database restarted, the worker killed, Redis away.

Runs on a private PostgreSQL cluster of its own (initdb in a temporary directory, on a free
port), so restarting it disturbs nobody else:

1. `dcc web` (2 workers) and `dcc worker` start; clients sign in and load the app.
2. PostgreSQL is restarted mid-run: requests in the gap must fail cleanly (503 page or JSON,
   never a traceback, never a connection error), and the app must recover by itself.
3. The worker is killed with SIGKILL and started again: every queued job is still done.
4. Afterwards every acknowledged bug and deployment is in the database.
5. With REDIS_URL pointing at a closed port the web still serves pages.

    python bench/faults.py [--duration 30]

Exit status 0 when all of that holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

import load

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]


def as_postgres(*cmd: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)


def start_cluster(root: Path, port: int) -> Path:
    data = root / "pgdata"
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    pg_ctl(data, port, "start")
    return data


def pg_ctl(data: Path, port: int, action: str) -> None:
    args = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-m", "fast"]
    if action in ("start", "restart"):
        args += ["-o", f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1"]
        args += ["-l", str(data.parent / "pg.log")]
    as_postgres(*args, action)


def wait_ready(base: str, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the app did not become ready")


async def pending_jobs(database_url: str) -> int:
    """Jobs that are due and not done: pending and due, or running with an expired lease.

    Periodic jobs waiting for their next period are not counted; a job the killed worker
    held counts once its lease has run out (the worker must then take it over).
    """
    from sqlalchemy import text

    from devops_center.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            sql = (
                "SELECT kind, status FROM jobs WHERE (status = 'pending' AND run_after <= :now)"
                " OR (status = 'running' AND locked_until < :now)"
            )
            rows = (await conn.execute(text(sql), {"now": datetime.now(UTC)})).all()
            if rows:
                print("faults: due jobs:", sorted({f"{k} ({s})" for k, s in rows}))
            return len(rows)
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()
    problems: list[str] = []

    tmp = Path(tempfile.mkdtemp(prefix="dcc-faults-"))
    tmp.chmod(0o755)  # the postgres user must reach its data directory inside
    pg_port = load.free_port()
    data = start_cluster(tmp / "pg", pg_port)
    database_url = f"postgresql+asyncpg://postgres@127.0.0.1:{pg_port}/postgres"
    port = load.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DCC_VAR_DIR": str(tmp / "var"),
        "SECRET_KEY": secrets.token_hex(32),
        "DCC_BUG_RATE_LIMIT": "100000",
        "DCC_LOGIN_MAX_FAILURES": "100000",
        "DCC_BASE_URL": base,
        "DCC_LOG_LEVEL": "WARNING",
    }
    for key in ("GITHUB_TOKEN", "TELEGRAM_BOT_TOKEN", "REDIS_URL"):
        env.pop(key, None)
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(name: str, *cmd: str, extra: dict[str, str] | None = None) -> None:
        procs[name] = subprocess.Popen(
            [load.DCC, *cmd],
            env={**env, **(extra or {})},
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / f"{name}.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )

    try:
        load.dcc(env, "db", "upgrade")
        emails = [f"fault{i}@bench.local" for i in range(args.clients)]
        for i, email in enumerate(emails):
            role = "owner" if i == 0 else "employee"
            load.dcc(env, "users", "create", "--name", f"F{i}", "--email", email,
                     "--role", role, "--password", load.PASSWORD)  # fmt: skip
        token = load.dcc(env, "tokens", "create", "--name", "f", "--scope", "deployments:write")
        token = token.strip().split()[-1]
        spawn("web", "web", "--port", str(port), "--workers", "2")
        spawn("worker", "worker")
        wait_ready(base)

        stats = load.Stats(allow_503=True)

        async def scenario() -> None:
            clock = load.Clock(len(emails), args.duration)
            clients = asyncio.gather(
                *(
                    load.client_loop(base, e, token, i == 0, clock, stats)
                    for i, e in enumerate(emails)
                )
            )
            await clock.started.wait()  # the faults are timed from the end of sign-in
            await asyncio.sleep(args.duration * 0.25)
            print("faults: restarting PostgreSQL")
            await asyncio.to_thread(pg_ctl, data, pg_port, "stop")
            await asyncio.sleep(2)
            await asyncio.to_thread(pg_ctl, data, pg_port, "start")
            await asyncio.sleep(args.duration * 0.25)
            print("faults: killing the worker (SIGKILL) and starting it again")
            os.killpg(procs["worker"].pid, signal.SIGKILL)
            procs["worker"].wait()
            spawn("worker", "worker")
            await clients

        asyncio.run(scenario())
        recovery = wait_ready(base, timeout=30)
        print(f"faults: ready again {recovery:.1f} s after the load ended")
        for page in ("/healthz", "/login"):
            if httpx.get(base + page, timeout=5).status_code != 200:
                problems.append(f"{page} not 200 after recovery")

        deadline = time.monotonic() + 60
        left = asyncio.run(pending_jobs(database_url))
        while left and time.monotonic() < deadline:
            time.sleep(1)
            left = asyncio.run(pending_jobs(database_url))
        print(f"faults: jobs still pending after the worker restart: {left}")
        if left:
            problems.append(f"{left} jobs never ran after the worker restart")

        bugs, deployments = asyncio.run(load.count_rows(database_url))
        print(f"bugs acknowledged {stats.bugs_acknowledged}, in the database {bugs}")
        print(
            f"deployments acknowledged {len(stats.deployments_acknowledged)}, "
            f"in the database {deployments}"
        )
        total = sum(len(v) for v in stats.latencies.values())
        print(f"requests {total}, clean failures (503) {stats.clean_failures}, "
              f"errors {len(stats.errors)}")  # fmt: skip
        problems += stats.errors[:10]
        if bugs != stats.bugs_acknowledged:
            problems.append("bug count mismatch: an acknowledged bug was lost")
        if deployments != len(stats.deployments_acknowledged):
            problems.append("deployment count mismatch")
        for name in ("web",):
            log = (tmp / f"{name}.log").read_text(errors="replace")
            if "Traceback" in log and "Exception in ASGI application" in log:
                problems.append(f"{name} logged an unhandled exception")

        # Redis away: the web keeps working.
        os.killpg(procs["web"].pid, signal.SIGTERM)
        procs["web"].wait(timeout=30)
        spawn("web", "web", "--port", str(port), extra={"REDIS_URL": "redis://127.0.0.1:1/0"})
        wait_ready(base)
        with httpx.Client(base_url=base) as c:
            ok = c.get("/login").status_code == 200 and c.get("/healthz").status_code == 200
        print(f"faults: with Redis unreachable the web serves pages: {ok}")
        if not ok:
            problems.append("web broken without Redis")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(data, pg_port, "stop")
        if os.environ.get("DCC_KEEP_FAULT_LOGS"):
            print(f"faults: logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
