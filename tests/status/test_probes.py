"""Each probe against a real local target: up, wrong answer, hanging, closed."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.db import utcnow
from devops_center.processes import service as processes
from devops_center.status import probes
from tests.conftest import REDIS_URL, _pg_dsn
from tests.status.conftest import Target


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_http_ok_then_500_then_hang(target: Target) -> None:
    ok = await probes.probe_http(target.url, timeout_s=2)
    assert ok.ok and ok.response_ms is not None and ok.message == "HTTP 200"

    target.mode = "error"
    bad = await probes.probe_http(target.url, timeout_s=2)
    assert not bad.ok and bad.message == "HTTP 500 (expected 200)"

    target.mode = "hang"
    hung = await probes.probe_http(target.url, timeout_s=0.3)
    assert not hung.ok and hung.message == "timeout after 0.3 s"
    assert hung.response_ms is not None and hung.response_ms >= 250


async def test_http_keyword_and_expected_status(target: Target) -> None:
    assert (await probes.probe_http(target.url, timeout_s=2, keyword="healthy")).ok
    missing = await probes.probe_http(target.url, timeout_s=2, keyword="database: ok")
    assert not missing.ok and "keyword" in (missing.message or "")
    target.mode = "error"
    assert (await probes.probe_http(target.url, timeout_s=2, expected_status=500)).ok


async def test_http_refused() -> None:
    result = await probes.probe_http(f"http://127.0.0.1:{_closed_port()}/", timeout_s=2)
    assert not result.ok and "ConnectError" in (result.message or "")


async def test_tcp_open_and_closed(target: Target) -> None:
    assert (await probes.probe_tcp("127.0.0.1", target.port, timeout_s=2)).ok
    port = target.port
    await target.stop()
    closed = await probes.probe_tcp("127.0.0.1", port, timeout_s=2)
    assert not closed.ok and closed.message


async def test_postgres_and_redis_probes() -> None:
    pg = await probes.probe_postgres(_pg_dsn(), timeout_s=5)
    if not pg.ok:
        pytest.skip(f"PostgreSQL unavailable: {pg.message}")
    assert pg.message == "SELECT 1"
    dead = await probes.probe_postgres(
        f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/x", timeout_s=2
    )
    assert not dead.ok
    red = await probes.probe_redis(REDIS_URL, timeout_s=2)
    if red.ok:
        assert red.message == "PONG"
    assert not (await probes.probe_redis(f"redis://127.0.0.1:{_closed_port()}/0", timeout_s=2)).ok


async def test_database_and_bot_heartbeat(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert (await probes.probe_database(sessionmaker, timeout_s=5)).ok

    missing = await probes.probe_bot(sessionmaker, timeout_s=5)
    assert not missing.ok and missing.message == "no heartbeat from the bot yet"

    async with sessionmaker() as s, s.begin():
        await processes.beat(s, who=processes.this_process("web"))
    assert not (await probes.probe_bot(sessionmaker, timeout_s=5)).ok  # only the bot's counts
    async with sessionmaker() as s, s.begin():
        await processes.beat(s, who=processes.this_process("bot"))
    fresh = await probes.probe_bot(sessionmaker, timeout_s=5)
    assert fresh.ok, fresh.message
    stale = await probes.probe_bot(sessionmaker, timeout_s=5, now=utcnow() + timedelta(seconds=91))
    assert not stale.ok and "last heartbeat" in (stale.message or "")


async def test_builtin_redis_check_when_configured(tmp_path, db_url: str) -> None:
    from devops_center.status import service as status
    from tests.conftest import make_settings

    assert "redis" not in {s.name for s in status.check_specs(make_settings(db_url, tmp_path))}
    settings = make_settings(db_url, tmp_path, redis_url=REDIS_URL)
    spec = status.find_spec(settings, "redis")
    assert spec is not None and spec.builtin and spec.type == "redis"
    result = await status.probe(spec, settings=settings, sessionmaker=None)  # type: ignore[arg-type]
    if not result.ok:
        pytest.skip(f"Redis unavailable: {result.message}")
    assert result.message == "PONG"


async def test_https_certificate_days_left(tmp_path) -> None:
    """A self-signed certificate valid 10 days: fine with a 5-day warning, down with 14."""
    import shutil
    import ssl
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "10",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    tls = Target()
    tls_server = await asyncio.start_server(tls._handle, "127.0.0.1", 0, ssl=server_ctx)
    port = tls_server.sockets[0].getsockname()[1]
    url = f"https://127.0.0.1:{port}/health"
    try:
        ok = await probes.probe_http(url, timeout_s=5, cert_days_warning=5, verify=client_ctx)
        assert ok.ok and ok.message is not None and "TLS 9 days" in ok.message
        soon = await probes.probe_http(url, timeout_s=5, cert_days_warning=14, verify=client_ctx)
        assert not soon.ok and soon.message == "TLS certificate expires in 9 days"
        untrusted = await probes.probe_http(url, timeout_s=5)
        assert not untrusted.ok and "SSL" in (untrusted.message or "").upper()
    finally:
        tls_server.close()
