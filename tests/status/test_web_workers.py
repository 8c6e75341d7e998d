"""`dcc web --workers 2`: both workers answer /healthz (a burst of keep-alive clients
reaches both) and one scrape counts every request."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devops_center.migrations import runner

BURST = 24


def _listening(port: int) -> int:
    """Listening TCP sockets on ``port`` (Linux's /proc/net/tcp: state 0A)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A" for r in rows)


def _children(pid: int) -> set[int]:
    """The live web worker processes ``pid`` started."""
    found = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            spawned = b"spawn_main" in (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and spawned:
            found.add(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_web_workers_share_metrics(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}"
    runner.upgrade(db)
    port = _free_port()
    prometheus = tmp_path / "var" / "prometheus"
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DATABASE_URL": db,
        "DCC_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "w" * 40,
        "DCC_LOG_LEVEL": "WARNING",
    }
    env.pop("DCC_CONFIG", None)
    dcc = str(Path(sys.executable).with_name("dcc"))
    proc = subprocess.Popen(
        [dcc, "web", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    healthy = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    healthy += 1
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert healthy, proc.stderr.read().decode() if proc.poll() is not None else "no answer"
        # A burst of keep-alive clients (a proxy's pool) is spread over the workers, not
        # taken whole by the one that woke first: each worker listens on its own socket.
        deadline = time.monotonic() + 30
        while _listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the second worker may still be starting
        assert _listening(port) == 2, "the workers do not listen each on a socket of its own"
        start = threading.Barrier(BURST)

        def keep_alive_client(_: int) -> int:
            with httpx.Client(base_url=base, timeout=10) as c:
                start.wait()
                return sum(c.get("/healthz").status_code == 200 for _ in range(3))

        with ThreadPoolExecutor(BURST) as pool:
            healthy += sum(pool.map(keep_alive_client, range(BURST)))
        served_by = {p.stem.rsplit("_", 1)[1] for p in prometheus.glob("counter_*.db")}
        assert len(served_by) == 2, f"one worker took all {BURST} connections"
        # A worker that dies is replaced by the supervisor.
        killed = int(sorted(served_by)[0])
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.2)
            children = _children(proc.pid)
            if killed not in children and len(children) == 2 and _listening(port) == 2:
                break
        else:
            raise AssertionError(f"the killed worker was not replaced: {_children(proc.pid)}")
        with httpx.Client(base_url=base, timeout=5) as c:
            for _ in range(12):
                assert c.get("/healthz", headers={"connection": "close"}).status_code == 200
                healthy += 1
            text = c.get("/metrics").text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    counted = sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "dcc_http_requests_total"
        and s.labels == {"method": "GET", "route": "/healthz", "status": "200"}
    )
    assert counted == healthy
    assert list(prometheus.glob("*.db"))
