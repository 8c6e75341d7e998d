"""Probes: one attempt at reaching a target, timed. A probe never raises; it reports.

Each returns a :class:`ProbeResult` (ok, response time, a short message for admins).
They run in the worker, outside any database transaction (a probe may take its whole
timeout), except :func:`probe_database` and :func:`probe_bot`, which read our own
database.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.db import utcnow
from devops_center.processes import service as processes

BOT_HEARTBEAT_STALE = timedelta(seconds=90)
USER_AGENT = "dcc-status/1 (+https://github.com/; DevOps Command Center)"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    response_ms: float | None
    message: str | None = None


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _reason(exc: BaseException) -> str:
    text_ = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text_}" if text_ else type(exc).__name__


@cache
def _default_ssl_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs more than a local probe."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _cert_days_left(response: httpx.Response) -> int | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    cert = ssl_object.getpeercert()
    not_after = cert.get("notAfter") if cert else None
    if not isinstance(not_after, str):
        return None
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
    return (expires - utcnow()).days


async def probe_http(
    url: str,
    *,
    timeout_s: float,
    expected_status: int = 200,
    keyword: str | None = None,
    cert_days_warning: int = 0,
    verify: bool | ssl.SSLContext = True,
) -> ProbeResult:
    """GET ``url``: the expected status, the keyword in the body, the certificate's days left."""
    client = httpx.AsyncClient(
        timeout=timeout_s,
        follow_redirects=True,
        verify=_default_ssl_context() if verify is True else verify,
        headers={"user-agent": USER_AGENT},
    )
    started = time.perf_counter()
    try:
        async with (
            client,
            asyncio.timeout(timeout_s),
            client.stream("GET", url) as response,
        ):
            days_left = _cert_days_left(response) if url.startswith("https://") else None
            body = (await response.aread()).decode(response.encoding or "utf-8", "replace")
    except TimeoutError:
        return ProbeResult(False, _elapsed_ms(started), f"timeout after {timeout_s:g} s")
    except httpx.TimeoutException:
        return ProbeResult(False, _elapsed_ms(started), f"timeout after {timeout_s:g} s")
    except Exception as exc:
        return ProbeResult(False, _elapsed_ms(started), _reason(exc))
    elapsed = _elapsed_ms(started)
    if response.status_code != expected_status:
        return ProbeResult(
            False, elapsed, f"HTTP {response.status_code} (expected {expected_status})"
        )
    if keyword is not None and keyword not in body:
        return ProbeResult(False, elapsed, f"keyword {keyword!r} not found")
    if days_left is not None:
        if days_left < cert_days_warning:
            return ProbeResult(False, elapsed, f"TLS certificate expires in {days_left} days")
        return ProbeResult(True, elapsed, f"HTTP {response.status_code}; TLS {days_left} days")
    return ProbeResult(True, elapsed, f"HTTP {response.status_code}")


async def probe_tcp(host: str, port: int, *, timeout_s: float) -> ProbeResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            _reader, writer = await asyncio.open_connection(host, port)
        elapsed = _elapsed_ms(started)
        writer.close()
        try:
            async with asyncio.timeout(1):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            pass
    except TimeoutError:
        return ProbeResult(False, _elapsed_ms(started), f"timeout after {timeout_s:g} s")
    except Exception as exc:
        return ProbeResult(False, _elapsed_ms(started), _reason(exc))
    return ProbeResult(True, elapsed, f"connected to {host}:{port}")


def _plain_postgres_dsn(dsn: str) -> str:
    scheme, sep, rest = dsn.partition("://")
    if sep and "+" in scheme:
        scheme = scheme.split("+", 1)[0]
    return f"{scheme}{sep}{rest}"


async def probe_postgres(dsn: str, *, timeout_s: float) -> ProbeResult:
    import asyncpg  # type: ignore[import-untyped]

    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            conn = await asyncpg.connect(_plain_postgres_dsn(dsn), timeout=timeout_s)
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close(timeout=timeout_s)
    except TimeoutError:
        return ProbeResult(False, _elapsed_ms(started), f"timeout after {timeout_s:g} s")
    except Exception as exc:
        return ProbeResult(False, _elapsed_ms(started), _reason(exc))
    return ProbeResult(True, _elapsed_ms(started), "SELECT 1")


async def probe_redis(url: str, *, timeout_s: float) -> ProbeResult:
    from redis.asyncio import Redis

    started = time.perf_counter()
    client = Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            pong = await client.ping()
    except TimeoutError:
        return ProbeResult(False, _elapsed_ms(started), f"timeout after {timeout_s:g} s")
    except Exception as exc:
        return ProbeResult(False, _elapsed_ms(started), _reason(exc))
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    return ProbeResult(bool(pong), _elapsed_ms(started), "PONG" if pong else "no PONG")


async def probe_database(
    sessionmaker: async_sessionmaker[AsyncSession], *, timeout_s: float
) -> ProbeResult:
    """``SELECT 1`` on our own database within ``timeout``."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s), sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except TimeoutError:
        return ProbeResult(False, _elapsed_ms(started), f"timeout after {timeout_s:g} s")
    except Exception as exc:
        return ProbeResult(False, _elapsed_ms(started), _reason(exc))
    return ProbeResult(True, _elapsed_ms(started), "SELECT 1")


async def probe_bot(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    timeout_s: float,
    now: datetime | None = None,
    stale_after: timedelta = BOT_HEARTBEAT_STALE,
) -> ProbeResult:
    """The bot keeps its ``process_heartbeats`` row fresh; not seen for 90 s means down."""
    try:
        async with asyncio.timeout(timeout_s), sessionmaker() as session:
            seen = await processes.last_seen(session, kind="bot")
    except Exception as exc:
        return ProbeResult(False, None, _reason(exc))
    if seen is None:
        return ProbeResult(False, None, "no heartbeat from the bot yet")
    age = (now or utcnow()) - seen
    seconds = max(0, int(age.total_seconds()))
    if age > stale_after:
        return ProbeResult(False, None, f"last heartbeat {seconds} s ago")
    return ProbeResult(True, None, f"heartbeat {seconds} s ago")
