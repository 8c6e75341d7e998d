"""Benchmark: DORA figures read fresh right after a write, at 10k, 100k and 1M deployments.

For each database (SQLite, then PostgreSQL when reachable) it bulk-loads a history of
each size at a constant density (300 production deployments a day across 100 services,
two commits each, one incident per 20 deployments: the last 30 days hold the same rows
at every size), builds the roll-ups with the rebuild function, VACUUM ANALYZE (and a
CHECKPOINT on PostgreSQL: the load's writes are not flushed during the timings), and
prints the import time and, over 40 rounds of "POST a deployment, then GET the report"
(``/api/v1/metrics/dora``, in-process), p50/p95 of that fresh read; every read must
count the deployment just posted. The sizes' rounds are interleaved (each round reads
every size once, the order rotating), so their ratio is not the drift of this shared
machine's speed between runs minutes apart. At the largest size the report's five figures in
three views are compared with a recomputation from the raw rows in Python
(``bench/dora_reference.py``: the SPEC's formulas, no roll-up), and on PostgreSQL it
then starts a real ``dcc web`` (4 workers), waits until every worker listens (each warms up first:
``web/warmup.py``), and runs 50 clients (aiohttp's, which aiogram brings: about 1 ms of
CPU a request, a quarter of httpx's; each: GET /admin/devops or, one time in four,
POST /api/v1/deployments, then about a second of thinking): 5 s of warming — the pools
open their connections and prepare their statements; reported apart — then 30 s whose
p95 of both are the figures.

Targets (PASS/FAIL printed next to each figure; exit 1 when one fails): fresh p95 ≤ 100 ms
at the largest size on both databases, fresh p95(largest) ≤ 1.5 × fresh p95(smallest),
/admin/devops p95 ≤ 150 ms and deployment API p95 ≤ 100 ms under 50 clients on
PostgreSQL, every read fresh, and no view whose figures differ from the raw rows'.

    python bench/dora.py                                   # the full run
    DCC_BENCH_SIZES=2000 DCC_BENCH_DBS=sqlite python bench/dora.py   # a smoke run
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import dora_reference  # noqa: E402
import scratch_pg  # noqa: E402

from devops_center.config import get_settings  # noqa: E402
from devops_center.db import make_engine, make_sessionmaker  # noqa: E402
from devops_center.deployments.rebuild import rebuild  # noqa: E402
from devops_center.migrations import runner  # noqa: E402
from devops_center.users import service as users  # noqa: E402
from devops_center.users import tokens as api_tokens  # noqa: E402

SIZES = [int(s) for s in os.environ.get("DCC_BENCH_SIZES", "10000,100000,1000000").split(",")]
DATABASES = os.environ.get("DCC_BENCH_DBS", "sqlite,postgresql").split(",")
ROUNDS = int(os.environ.get("DCC_BENCH_ROUNDS", "40"))
CLIENTS = int(os.environ.get("DCC_BENCH_CLIENTS", "50"))
LOAD_SECONDS = float(os.environ.get("DCC_BENCH_LOAD_SECONDS", "30"))
WARMING_SECONDS = 5.0  # of load before the measured seconds
WORKERS = 4  # dcc web --workers
SERVICES = int(os.environ.get("DCC_BENCH_SERVICES", "100"))
PER_DAY = 300
EXPLAIN_DIR = os.environ.get("DCC_BENCH_EXPLAIN")  # a directory: query plans written there
PG_DSN = scratch_pg.ADMIN_DSN
DCC = str(Path(sys.executable).with_name("dcc"))
TARGET_FRESH_P95_MS = 100.0
TARGET_RATIO = 1.5
TARGET_PAGE_P95_MS = 150.0
TARGET_API_P95_MS = 100.0
PASSWORD = "bench password 1"
CSRF_RE = re.compile(r'name="csrftoken" value="([^"]+)"')

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

Chunk = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def generate(n: int, now: datetime, seed: int = 5, size: int = 50_000) -> Iterator[Chunk]:
    """The history in chunks, oldest first: deployment i starts (n − i) / 300 days ago."""
    rng = random.Random(seed)
    step = 86400 / PER_DAY
    commit_id = incident_id = 0
    for first in range(1, n + 1, size):
        deployments, commits, incidents = [], [], []
        for i in range(first, min(n, first + size - 1) + 1):
            started = now - timedelta(seconds=(n - i) * step + rng.random() * step + 600)
            roll = rng.random()
            status = "failed" if roll < 0.1 else "rolled_back" if roll < 0.13 else "success"
            if i % 5000 == 0:
                status = "in_progress"
            kind = rng.random()
            kind_name = "hotfix" if kind < 0.05 else "rollback" if kind < 0.07 else "normal"
            duration = rng.randint(60, 1200)
            done = None if status == "in_progress" else started + timedelta(seconds=duration)
            sha = f"{rng.getrandbits(160):040x}"
            service = f"service-{i % SERVICES:03d}"
            deployments.append(
                (
                    i, sha, "change", started, done, status,
                    None if done is None else duration, "ci", 200, 0, "production",
                    service, kind_name, f"bench-{i}", "api", None, started, started,
                )
            )  # fmt: skip
            for c in range(2):
                commit_id += 1
                commits.append(
                    (
                        commit_id, i, sha if c == 0 else f"{rng.getrandbits(160):040x}",
                        started - timedelta(seconds=rng.uniform(360, 72 * 3600)), "commit",
                        "dev",
                    )
                )  # fmt: skip
            if i % 20 == 0 and done is not None:
                incident_id += 1
                resolved = (
                    None if rng.random() < 0.02 else done + timedelta(hours=rng.expovariate(0.3))
                )
                incidents.append(
                    (
                        incident_id, "incident", None, "deployment", f"ref-{i}", service,
                        "production", "high", i, None, None, done, resolved, None, None,
                    )
                )  # fmt: skip
        yield deployments, commits, incidents


TABLES = (
    ("deployments", DEPLOY_COLUMNS),
    ("deployment_commits", COMMIT_COLUMNS),
    ("incidents", INCIDENT_COLUMNS),
)


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return v


def load_sqlite(path: Path, n: int, now: datetime) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        for chunk in generate(n, now):
            for (table, columns), rows in zip(TABLES, chunk, strict=True):
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                conn.executemany(sql, [tuple(_sqlite_value(v) for v in r) for r in rows])
        conn.commit()
    finally:
        conn.close()


async def load_postgres(dsn: str, n: int, now: datetime) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for chunk in generate(n, now):
            for (table, columns), rows in zip(TABLES, chunk, strict=True):
                await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        for table, _columns in TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
    finally:
        await conn.close()


async def build_rollups(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: rebuild(c, "UTC"))
    finally:
        await engine.dispose()


async def vacuum(url: str, dsn: str | None) -> None:
    if dsn is not None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("VACUUM ANALYZE")
            # the bulk load's dirty pages written out now, not by the checkpointer
            # during the timed reads
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
        return
    path = url.split("///", 1)[1]
    db = sqlite3.connect(path)
    try:
        db.execute("ANALYZE")  # a freshly written file: VACUUM has nothing to reclaim
        db.commit()
    finally:
        db.close()


# --------------------------------------------------------------------- timings


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def deployment_body(n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    sha = secrets.token_hex(20)
    return {
        "commit_sha": sha,
        "started_at": (now - timedelta(minutes=4)).isoformat(),
        "completed_at": (now - timedelta(minutes=1)).isoformat(),
        "status": "success",
        "service": f"service-{n % SERVICES:03d}",
        "external_id": f"fresh-{uuid.uuid4().hex}",
        "commits": [
            {"sha": sha, "committed_at": (now - timedelta(hours=2)).isoformat()},
            {"sha": secrets.token_hex(20), "committed_at": (now - timedelta(hours=5)).isoformat()},
        ],
    }


async def owner_and_token(url: str, var: Path) -> tuple[Any, str]:
    settings = get_settings(
        database_url=url, var_dir=var, secret_key="bench-" + "x" * 40, checks=[], config_file=None
    )
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            await users.create_user(
                s, name="Bench", role="owner", email="bench@bench.local", password=PASSWORD
            )
            _t, token = await api_tokens.create_token(
                s, name="bench", scopes=["metrics:read", "deployments:write"]
            )
    finally:
        await engine.dispose()
    return settings, token


@contextlib.asynccontextmanager
async def report_client(settings: Any, token: str) -> AsyncIterator[Any]:
    """An in-process app on ``settings``' database; yields ``one_round()``: POST a
    deployment, then GET the report — (read ms, write ms, whether the read missed it)."""
    from devops_center.web.app import create_app

    engine = make_engine(settings.database_url, pool_size=5)
    app = create_app(settings, engine=engine, sessionmaker=make_sessionmaker(engine))
    auth = {"authorization": f"Bearer {token}"}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def report() -> int:
                r = await client.get("/api/v1/metrics/dora", headers=auth)
                assert r.status_code == 200, r.text
                return int(r.json()["stats"]["total"])

            seen = await report()  # warm-up
            n = 0

            async def one_round() -> tuple[float, float, bool]:
                nonlocal seen, n
                n += 1
                t0 = time.perf_counter()
                r = await client.post("/api/v1/deployments", json=deployment_body(n), headers=auth)
                t1 = time.perf_counter()
                assert r.status_code in (200, 201), r.text
                total = await report()
                read_ms = (time.perf_counter() - t1) * 1000
                stale, seen = total != seen + 1, total
                return read_ms, (t1 - t0) * 1000, stale

            yield one_round
    finally:
        await engine.dispose()


async def fresh_reads(ready: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """ROUNDS rounds of "POST a deployment, then GET the report" on every size's
    database, interleaved (round r: each size once, in turn, the order rotating): the
    ratio of two sizes' figures is not the drift of this shared machine's speed between
    two runs minutes apart."""
    sizes = sorted(ready)
    got: dict[int, dict[str, list[float]]] = {n: {"read": [], "write": []} for n in sizes}
    stale = dict.fromkeys(sizes, 0)
    async with contextlib.AsyncExitStack() as stack:
        rounds = {
            n: await stack.enter_async_context(
                report_client(ready[n]["settings"], ready[n]["token"])
            )
            for n in sizes
        }
        for r in range(ROUNDS):
            for n in sizes[r % len(sizes) :] + sizes[: r % len(sizes)]:
                read_ms, write_ms, missed = await rounds[n]()
                got[n]["read"].append(read_ms)
                got[n]["write"].append(write_ms)
                stale[n] += missed
    return {
        n: {
            "read": (pct(got[n]["read"], 0.5), pct(got[n]["read"], 0.95)),
            "write": (pct(got[n]["write"], 0.5), pct(got[n]["write"], 0.95)),
            "stale": stale[n],
        }
        for n in sizes
    }


async def explain(url: str, dsn: str | None, out: Path) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) — or EXPLAIN QUERY PLAN on SQLite — of every statement
    the report runs, with its parameters, written to ``out``."""
    from sqlalchemy import event

    from devops_center.dora import service as dora

    engine = make_engine(url, pool_size=1)
    seen: list[tuple[str, Any]] = []

    def keep(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: Any) -> None:
        seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        async with make_sessionmaker(engine)() as s:
            await dora.dora_report(s, days=30, tz="UTC")
    finally:
        await engine.dispose()
    lines: list[str] = []
    selects = [(q, p) for q, p in seen if q.lstrip().upper().startswith(("SELECT", "WITH"))]
    if dsn is not None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET jit = off")
            for statement, params in selects:
                rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *params)
                lines += ["", statement, "", *(r[0] for r in rows)]
        finally:
            await conn.close()
    else:
        db = sqlite3.connect(url.split("///", 1)[1])
        try:
            for statement, params in selects:
                plan = db.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
                lines += ["", statement, "", *(str(r[-1]) for r in plan)]
        finally:
            db.close()
    out.write_text("\n".join(lines) + "\n")  # noqa: ASYNC240 - once, after the timings
    print(f"  query plans of the report written to {out}", flush=True)


def machine_speed() -> str:
    """A fixed pure-Python loop's CPU time: this shared 2-core machine runs the same
    work up to half again slower at times, and the latencies under load with it."""
    started = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i * i
    took = (time.process_time() - started) * 1000
    return f"a fixed loop took {took:.0f} ms of CPU (about 240 ms when the machine is quiet)"


def listeners(port: int) -> int:
    """Sockets listening on ``port`` (Linux; 0 elsewhere)."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()  # sl, local address, remote address, state, …
            found += fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def under_load(url: str, var: Path, token: str) -> dict[str, Any]:
    """A real `dcc web` (4 workers) and CLIENTS clients for LOAD_SECONDS."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DCC_VAR_DIR": str(var),
        "SECRET_KEY": "bench-" + "x" * 40,
        "DCC_BASE_URL": f"http://127.0.0.1:{port}",
        "DCC_LOG_LEVEL": "WARNING",
        "DCC_CONFIG": "",
    }
    for key in ("GITHUB_TOKEN", "TELEGRAM_BOT_TOKEN", "REDIS_URL"):
        env.pop(key, None)
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clients
        [DCC, "web", "--port", str(port), "--workers", str(WORKERS)],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    latencies: dict[str, list[float]] = {"page": [], "api": [], "warming": []}
    errors: list[str] = []
    try:
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
            while time.monotonic() < deadline:
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
            else:
                raise RuntimeError("the web server did not become ready")
            # every worker listens on a socket of its own once warm (web/warmup.py): the
            # clients' keep-alive connections must not all land on the first one
            while time.monotonic() < deadline:
                if listeners(port) >= WORKERS:
                    break
                await asyncio.sleep(0.2)
            form = await probe.get("/login")
            found = CSRF_RE.search(form.text)
            assert found, "no CSRF token on /login"
            signed = await probe.post(
                "/login",
                data={
                    "csrftoken": found.group(1),
                    "email": "bench@bench.local",
                    "password": PASSWORD,
                },
            )
            assert signed.status_code == 303, signed.text
            cookies = dict(probe.cookies)
        rng = random.Random(7)

        async def client(k: int, c: aiohttp.ClientSession) -> None:
            auth = {"authorization": f"Bearer {token}"}
            await asyncio.sleep(rng.random())  # spread the starts
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                t0 = time.perf_counter()
                if rng.random() < 0.25:
                    # a service drawn at random: with ``k * 1000 + n`` every client
                    # posted its n-th request to the same service as the others (all
                    # started together), all waiting for that service's lock
                    body = deployment_body(rng.randrange(SERVICES))
                    async with c.post("/api/v1/deployments", json=body, headers=auth) as r:
                        await r.read()
                    kind, ok = "api", r.status in (200, 201)
                else:
                    async with c.get("/admin/devops", allow_redirects=False) as r:
                        await r.read()
                    kind, ok = "page", r.status == 200
                # the first seconds after the start are the pools' (connections,
                # prepared statements): reported apart, not in the figures
                took = (time.perf_counter() - t0) * 1000
                latencies[kind if t0 >= measure_from else "warming"].append(took)
                if not ok:
                    errors.append(f"{kind}: HTTP {r.status}")
                await asyncio.sleep(rng.uniform(0.5, 1.5))

        # The clients are aiohttp's (aiogram's HTTP library): one keep-alive connection
        # each, as a browser or a CI runner has. They share the server's two cores, and
        # httpx's client took 4.5 ms of CPU per request there (aiohttp's: see the
        # printed figure) — CPU the server did not get, and time counted in every latency.
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    aiohttp.ClientSession(
                        base_url=base,
                        headers={"cookie": cookie},
                        connector=aiohttp.TCPConnector(limit=1),
                        timeout=aiohttp.ClientTimeout(total=30),
                    )
                )
                for _ in range(CLIENTS)
            ]
            measure_from = time.perf_counter() + WARMING_SECONDS
            started = time.monotonic()
            cpu_before = time.process_time()
            stop_at = started + WARMING_SECONDS + LOAD_SECONDS
            await asyncio.gather(*(client(k, c) for k, c in enumerate(clients)))
            elapsed = time.monotonic() - started - WARMING_SECONDS
            client_cpu = time.process_time() - cpu_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    count = sum(len(v) for v in latencies.values())
    return {
        "page": (pct(latencies["page"], 0.5), pct(latencies["page"], 0.95)),
        "api": (pct(latencies["api"], 0.5), pct(latencies["api"], 0.95)),
        "warming": (len(latencies["warming"]), pct(latencies["warming"], 0.95)),
        "requests": len(latencies["page"]) + len(latencies["api"]),
        "seconds": elapsed,
        "errors": errors,
        # the load generator's own CPU per request (this process)
        "client_cpu_ms": client_cpu * 1000 / max(1, count),
    }


# ------------------------------------------------------------------ the sizes


async def prepare(
    db: str, n: int, tmp: Path, now: datetime, stack: contextlib.AsyncExitStack
) -> dict[str, Any] | None:
    """A database of ``n`` deployments, loaded, its roll-ups built, analyzed, with an owner
    and a token; dropped when ``stack`` closes. None: PostgreSQL is not reachable."""
    dsn: str | None = None
    if db == "sqlite":
        path = tmp / f"bench-{n}.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            stack.callback(Path(f"{path}{suffix}").unlink, missing_ok=True)
        runner.upgrade(url)
    else:
        dsn = await scratch_pg.create("dcc_bench", PG_DSN)
        if dsn is None:
            return None
        stack.push_async_callback(scratch_pg.drop, dsn, PG_DSN)
        url = scratch_pg.asyncpg_url(dsn)
        await asyncio.to_thread(runner.upgrade, url)
    t0 = time.perf_counter()
    if dsn:
        await load_postgres(dsn, n, now)
    else:
        await asyncio.to_thread(load_sqlite, Path(url.split("///", 1)[1]), n, now)
    t1 = time.perf_counter()
    await build_rollups(url)
    t2 = time.perf_counter()
    await vacuum(url, dsn)
    t3 = time.perf_counter()
    print(
        f"  {db}: {n:,} deployments loaded in {t1 - t0:.1f} s, roll-ups rebuilt in "
        f"{t2 - t1:.1f} s, vacuum/analyze {t3 - t2:.1f} s",
        flush=True,
    )
    var = tmp / f"var-{db}-{n}"
    settings, token = await owner_and_token(url, var)
    return {"url": url, "dsn": dsn, "var": var, "settings": settings, "token": token,
            "import": t3 - t0}  # fmt: skip


async def run(
    db: str, sizes: list[int], tmp: Path, now: datetime, *, load: bool = False
) -> dict[int, dict[str, Any]]:
    """Every size of ``db``: loaded, then read fresh (interleaved); at the largest, the
    report against the raw rows, the plans if asked, and the load if ``load``."""
    figures: dict[int, dict[str, Any]] = {}
    async with contextlib.AsyncExitStack() as stack:
        ready: dict[int, dict[str, Any]] = {}
        for n in sizes:
            got = await prepare(db, n, tmp, now, stack)
            if got is None:
                return figures
            ready[n] = got
        for n, out in (await fresh_reads(ready)).items():
            figures[n] = {"import": ready[n]["import"], **out}
            print(
                f"  {db}: {n:,}: fresh read after write p50 {out['read'][0]:.1f} ms "
                f"p95 {out['read'][1]:.1f} ms (POST p95 {out['write'][1]:.1f} ms), "
                f"{ROUNDS - out['stale']}/{ROUNDS} reads counted the new deployment",
                flush=True,
            )
        big = max(ready)
        top = ready[big]
        figures[big]["mismatches"] = await same_figures(top["url"], db, big)
        if EXPLAIN_DIR:
            await explain(top["url"], top["dsn"], Path(EXPLAIN_DIR) / f"dora-plans-{db}-{big}.txt")
        if load:
            print(f"  machine speed before the load: {machine_speed()}", flush=True)
            figures[big]["load"] = await under_load(top["url"], top["var"], top["token"])
    return figures


def views() -> list[dict[str, Any]]:
    """The report views recomputed from the raw rows at the largest size (the service
    is one with incidents: every 20th deployment has one)."""
    return [
        {"days": 30, "environment": "production", "service": None},
        {"days": 7, "environment": "production", "service": None},
        {"days": 90, "environment": "production", "service": f"service-{20 % SERVICES:03d}"},
    ]


async def same_figures(url: str, db: str, n: int) -> int:
    """The report's five figures against a recomputation from the raw rows
    (bench/dora_reference.py), in :func:`views`: how many views differ."""
    engine = make_engine(url, pool_size=1)
    differing = 0
    try:
        async with make_sessionmaker(engine)() as s:
            at = datetime.now(UTC)
            for view in views():
                got = await dora_reference.reported(s, now=at, **view)
                want = await dora_reference.recomputed(s, now=at, **view)
                wrong = dora_reference.differences(got, want)
                differing += bool(wrong)
                shown = ", ".join(f"{k} {v if v is None else round(v, 3)}" for k, v in got.items())
                print(
                    f"  {db}: {n:,}: {view['days']} days, {view['service'] or 'all services'}: "
                    + ("; ".join(wrong) if wrong else f"report = raw rows ({shown})"),
                    flush=True,
                )
    finally:
        await engine.dispose()
    return differing


# ----------------------------------------------------------------------- main


def verdict(label: str, value: float, unit: str, target: str, ok: bool) -> bool:
    print(f"  {'PASS' if ok else 'FAIL'}  {label}: {value:.2f}{unit}  (target {target})")
    return ok


def summary(db: str, figures: dict[int, dict[str, Any]]) -> list[str]:
    failures = []
    sizes = sorted(figures)
    small, big = sizes[0], sizes[-1]
    print(f"{db}:")
    for n in sizes:
        f = figures[n]
        print(
            f"  {n:>9,} deployments: import {f['import']:.1f} s, fresh read p50 "
            f"{f['read'][0]:.1f} ms p95 {f['read'][1]:.1f} ms, POST p95 {f['write'][1]:.1f} ms"
        )
    p95 = figures[big]["read"][1]
    checks = [
        (f"{db} fresh read p95 at {big:,}", p95, " ms", f"≤ {TARGET_FRESH_P95_MS:.0f} ms",
         p95 <= TARGET_FRESH_P95_MS),
        (f"{db} reads that missed the write just made (all sizes)",
         float(sum(f["stale"] for f in figures.values())), "", "0",
         all(f["stale"] == 0 for f in figures.values())),
        (f"{db} report views at {big:,} differing from a recomputation from the raw rows",
         float(figures[big]["mismatches"]), "", f"0 of {len(views())}",
         figures[big]["mismatches"] == 0),
    ]  # fmt: skip
    if big != small:
        ratio = p95 / figures[small]["read"][1]
        checks.append(
            (f"{db} fresh p95 {big:,}/{small:,}", ratio, "×", f"≤ {TARGET_RATIO}",
             ratio <= TARGET_RATIO)
        )  # fmt: skip
    load = figures[big].get("load")
    if load:
        print(
            f"  under load at {big:,}: {CLIENTS} clients, {load['requests']} requests in "
            f"{load['seconds']:.0f} s, /admin/devops p50 {load['page'][0]:.1f} ms, "
            f"API p50 {load['api'][0]:.1f} ms, {len(load['errors'])} errors (before them, "
            f"{WARMING_SECONDS:.0f} s of the same load right after the start, not counted: "
            f"{load['warming'][0]} requests, p95 {load['warming'][1]:.0f} ms; the clients' "
            f"own CPU {load['client_cpu_ms']:.1f} ms a request)"
        )
        checks += [
            (f"{db} /admin/devops p95 under {CLIENTS} clients at {big:,}", load["page"][1],
             " ms", f"≤ {TARGET_PAGE_P95_MS:.0f} ms", load["page"][1] <= TARGET_PAGE_P95_MS),
            (f"{db} POST /api/v1/deployments p95 under the same load", load["api"][1], " ms",
             f"≤ {TARGET_API_P95_MS:.0f} ms", load["api"][1] <= TARGET_API_P95_MS),
            (f"{db} failed requests under load", float(len(load["errors"])), "", "0",
             not load["errors"]),
        ]  # fmt: skip
    for label, value, unit, target, ok in checks:
        if not verdict(label, value, unit, target, ok):
            failures.append(label)
    return failures


async def main() -> int:
    now = datetime.now(UTC)
    failures: list[str] = []
    print(
        f"DORA benchmark {now:%Y-%m-%d %H:%M} UTC: sizes {SIZES}, {SERVICES} services, "
        f"{PER_DAY} deployments a day, {ROUNDS} rounds; {machine_speed()}",
        flush=True,
    )
    results: dict[str, dict[int, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="dcc-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for db in DATABASES:
            figures = await run(db, SIZES, tmp, now, load=db == "postgresql" and CLIENTS > 0)
            if figures:
                results[db] = figures
    for db, figures in results.items():
        failures += summary(db, figures)
    print(f"{len(failures)} target(s) missed" if failures else "all targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
