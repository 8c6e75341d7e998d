"""Each probe against a real local target: up, wrong answer, hanging, closed."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.db import utcnow
from devops_center.outbox import service as outbox
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
        await outbox.kv_set(s, key=probes.BOT_HEARTBEAT_KEY, value={"pid": 1})
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
