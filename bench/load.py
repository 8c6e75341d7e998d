"""Load test: a real `dcc web` with N worker processes, C concurrent clients for D seconds.

Each client signs in, then mixes support pages, bug submissions, FAQ search, the admin
DevOps page and deployment registrations (through the API with a token). Afterwards every
acknowledged bug and deployment must be in the database (count check), no request may have
failed, and every web process's RSS is printed (target ≤ 150 MB, plus ≤ 150 MB for the
support brain's embedding model when it is installed: FAQ search loads it in every web
process, and bench/brain.py measures its share on its own).

    python bench/load.py                      # PostgreSQL, 4 workers, 50 clients, 60 s
    python bench/load.py --db sqlite          # SQLite, 1 worker, 10 clients, 60 s
    python bench/load.py --duration 5 --clients 5   # a smoke run (what make test runs)

Exit status 0 when every target holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DCC = str(Path(sys.executable).with_name("dcc"))
CSRF_RE = re.compile(r'name="csrftoken" value="([^"]+)"')
PASSWORD = "load-test-password-1"
RSS_TARGET_MB = 150
MODEL_ALLOWANCE_MB = 150  # what the support brain's model may add (bench/brain.py checks it)
FAQ_QUERIES = ["password", "login", "пароль", "deploy", "bug report", "telegram", "оплата"]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    clean_failures: int = 0  # 503 pages while the database is away (bench/faults.py)
    allow_503: bool = False
    bugs_acknowledged: int = 0
    deployments_acknowledged: set[str] = field(default_factory=set)

    def record(self, route: str, seconds: float) -> None:
        self.latencies[route].append(seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dcc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [DCC, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"dcc {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


def make_database(kind: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'load.sqlite3'}", lambda: None
    import asyncpg

    name = f"dcc_load_{secrets.token_hex(4)}"
    host = os.environ.get("DCC_TEST_PG_HOST", "127.0.0.1")
    password = os.environ.get("DCC_TEST_PG_PASSWORD", "")
    auth = "postgres" + (f":{password}" if password else "")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(f"postgresql://{auth}@{host}:5432/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    return (
        f"postgresql+asyncpg://{auth}@{host}:5432/{name}",
        lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')),
    )


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    match = CSRF_RE.search(response.text)
    if not match:
        raise RuntimeError(f"no CSRF token on {path}: {response.status_code}")
    return match.group(1)


async def timed(
    stats: Stats, route: str, call: Awaitable[httpx.Response], ok: tuple[int, ...]
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await call
    except httpx.HTTPError as exc:
        if stats.allow_503 and isinstance(exc, httpx.TimeoutException):
            stats.clean_failures += 1
            return None
        stats.errors.append(f"{route}: {type(exc).__name__}: {exc}")
        return None
    stats.record(route, time.perf_counter() - started)
    if stats.allow_503 and response.status_code == 503:
        stats.clean_failures += 1
        return None
    if response.status_code not in ok:
        stats.errors.append(f"{route}: HTTP {response.status_code} {response.text[:200]!r}")
        return None
    return response


@dataclass
class Clock:
    """The measured run starts when every client has signed in (sign-in is set-up: a
    burst of argon2 checks on a busy machine would otherwise eat a short run)."""

    clients: int
    duration: float
    stop_at: float = 0.0
    signed_in: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def ready(self) -> None:
        self.signed_in += 1
        if self.signed_in == self.clients:
            self.stop_at = time.monotonic() + self.duration
            self.started.set()
        await self.started.wait()


async def client_loop(
    base: str, email: str, token: str, admin: bool, clock: Clock, stats: Stats
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        form = {"csrftoken": await csrf(c, "/login"), "email": email, "password": PASSWORD}
        signed_in = await timed(stats, "POST /login", c.post("/login", data=form), (303,))
        await clock.ready()  # a failed sign-in is an error already; the others go on
        if signed_in is None:
            return
        while time.monotonic() < clock.stop_at:
            action = random.random()
            if action < 0.25:
                await timed(stats, "GET /support", c.get("/support"), (200,))
            elif action < 0.45:
                q = random.choice(FAQ_QUERIES)
                await timed(
                    stats, "GET /support/faq?q=", c.get("/support/faq", params={"q": q}), (200,)
                )
            elif action < 0.60:
                try:
                    form_token = await csrf(c, "/support/bug")
                except (RuntimeError, httpx.HTTPError) as exc:
                    if stats.allow_503:
                        stats.clean_failures += 1
                        continue
                    stats.errors.append(f"GET /support/bug: {exc}")
                    continue
                data = {
                    "csrftoken": form_token,
                    "title": f"Load bug {secrets.token_hex(3)}",
                    "what_doing": "Clicking around under load.",
                    "expected": "A fast page.",
                    "actual": "Still fast, hopefully.",
                    "priority": random.choice(["low", "medium", "high"]),
                }
                r = await timed(
                    stats, "POST /support/bug", c.post("/support/bug", data=data), (303,)
                )
                if r is not None:
                    stats.bugs_acknowledged += 1
            elif action < 0.70:
                await timed(stats, "GET /support/my-bugs", c.get("/support/my-bugs"), (200,))
            elif action < 0.85 and admin:
                await timed(stats, "GET /admin/devops", c.get("/admin/devops"), (200,))
            else:
                external_id = f"load-{secrets.token_hex(6)}"
                body = {
                    "commit_sha": secrets.token_hex(20),
                    "commit_message": "load test",
                    "started_at": "2026-11-28T10:00:00Z",
                    "completed_at": "2026-11-28T10:03:00Z",
                    "status": random.choice(["success", "success", "success", "failed"]),
                    "triggered_by": "bench",
                    "tests_passed": 120,
                    "tests_failed": 0,
                    "service": "load",
                    "external_id": external_id,
                }
                r = await timed(
                    stats,
                    "POST /api/v1/deployments",
                    c.post(
                        "/api/v1/deployments",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    ),
                    (200, 201),
                )
                if r is not None:
                    stats.deployments_acknowledged.add(external_id)


def model_installed() -> bool:
    """Whether the web processes will load the embedding model (the `ai` extra is here)."""
    from devops_center.brain import embedder
    from devops_center.config import Settings

    return embedder.status(Settings().embedding_model).available


def rss_mb(root_pid: int) -> dict[int, float]:
    """RSS of the server process and its children (the uvicorn workers), in MB."""
    out: dict[int, float] = {}
    pids = [root_pid]
    children = Path(f"/proc/{root_pid}/task/{root_pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
    return out


async def count_rows(database_url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from devops_center.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            bugs = (await conn.execute(text("SELECT count(*) FROM bug_logs"))).scalar_one()
            deps = (
                await conn.execute(text("SELECT count(*) FROM deployments WHERE service = 'load'"))
            ).scalar_one()
            return int(bugs), int(deps)
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    clients = args.clients or (50 if args.db == "postgresql" else 10)
    workers = args.workers or (4 if args.db == "postgresql" else 1)

    tmp = Path(tempfile.mkdtemp(prefix="dcc-load-"))
    database_url, drop = make_database(args.db, tmp)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DCC_VAR_DIR": str(tmp / "var"),
        "SECRET_KEY": secrets.token_hex(32),
        "DCC_BUG_RATE_LIMIT": "100000",
        "DCC_LOGIN_MAX_FAILURES": "100000",
        # one token stands for every client's CI (~40 registrations a second in all,
        # 600 a minute is the default per token); the limits are tested in tests/api
        "DCC_API_RATE_LIMIT": "1000000",
        "DCC_BASE_URL": f"http://127.0.0.1:{port}",
        "DCC_LOG_LEVEL": "WARNING",
    }
    for key in ("GITHUB_TOKEN", "TELEGRAM_BOT_TOKEN", "REDIS_URL"):
        env.pop(key, None)
    server: subprocess.Popen[bytes] | None = None
    try:
        dcc(env, "db", "upgrade")
        emails = [f"load{i}@bench.local" for i in range(clients)]
        for i, email in enumerate(emails):
            role = "owner" if i % 10 == 0 else "employee"
            dcc(env, "users", "create", "--name", f"Load {i}", "--email", email,
                "--role", role, "--password", PASSWORD)  # fmt: skip
        token = dcc(env, "tokens", "create", "--name", "load", "--scope", "deployments:write")
        token = token.strip().split()[-1]
        server = subprocess.Popen(
            [DCC, "web", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("the web server did not become ready")

        stats = Stats()
        clock: Clock | None = None

        async def run_all() -> None:
            nonlocal clock
            clock = Clock(len(emails), args.duration)
            await asyncio.gather(
                *(
                    client_loop(base, email, token, i % 10 == 0, clock, stats)
                    for i, email in enumerate(emails)
                )
            )

        asyncio.run(run_all())
        assert clock is not None
        elapsed = time.monotonic() - (clock.stop_at - clock.duration)
        rss = rss_mb(server.pid)
        bugs, deployments = asyncio.run(count_rows(database_url))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        drop()
        shutil.rmtree(tmp, ignore_errors=True)

    total = sum(len(v) for v in stats.latencies.values())
    print(
        f"load: {args.db}, {workers} web worker(s), {clients} clients, {elapsed:.0f} s, "
        f"{total} requests ({total / elapsed:.0f}/s), {len(stats.errors)} errors"
    )
    print(f"{'route':32} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for route, values in sorted(stats.latencies.items()):
        ms = sorted(v * 1000 for v in values)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        print(f"{route:32} {len(ms):6d} {statistics.median(ms):8.1f} {p95:8.1f} {ms[-1]:8.1f}")
    rss_target = RSS_TARGET_MB + (MODEL_ALLOWANCE_MB if model_installed() else 0)
    for pid, mb in rss.items():
        verdict = "PASS" if mb <= rss_target else "FAIL"
        print(f"RSS pid {pid}: {mb:.0f} MB (target ≤ {rss_target} MB: {verdict})")
    print(f"bugs acknowledged {stats.bugs_acknowledged}, in the database {bugs}")
    print(
        f"deployments acknowledged {len(stats.deployments_acknowledged)}, "
        f"in the database {deployments}"
    )
    problems = list(stats.errors[:10])
    if bugs != stats.bugs_acknowledged:
        problems.append("bug count mismatch")
    if deployments != len(stats.deployments_acknowledged):
        problems.append("deployment count mismatch")
    if any(mb > rss_target for mb in rss.values()):
        problems.append(f"a web process above {rss_target} MB")
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
