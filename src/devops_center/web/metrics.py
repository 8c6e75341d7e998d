"""Prometheus ``GET /metrics``: request metrics, plus figures read from the database.

- ``dcc_http_requests_total`` / ``dcc_http_request_duration_seconds`` by method, route
  template (``/support/bugs/{bug_id}``, never the raw path) and status — recorded by
  :class:`MetricsMiddleware`. With ``PROMETHEUS_MULTIPROC_DIR`` set (several web
  workers) each process writes its own files and a scrape merges them.
- Database figures (bugs, deployments, DORA, checks, jobs) are computed on every scrape
  by the same service functions the dashboard uses, so every web worker answers alike.

Access: ``Authorization: Bearer $DCC_METRICS_TOKEN`` (compared in constant time) or an
API token with the ``metrics:read`` scope. Without a token, only loopback clients are
served, unless ``DCC_METRICS_TOKEN`` is set: then a token is required from everywhere.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devops_center.config import Settings
from devops_center.dora import presenter as dora_presenter
from devops_center.dora import service as dora
from devops_center.incidents import service as incidents
from devops_center.outbox import service as outbox
from devops_center.status import service as status
from devops_center.support import service as support
from devops_center.users import tokens as api_tokens
from devops_center.web.deps import SettingsDep, get_sessionmaker

log = logging.getLogger("devops_center.metrics")

router = APIRouter(include_in_schema=False)

DATABASE_TIMEOUT = 5.0  # seconds: the scrape still answers within Prometheus' 10-s timeout
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"


# -------------------------------------------------------------- request metrics


class _HttpMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Counter(
            "dcc_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "dcc_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


# One registry per process for the request metrics (single-process mode).
_REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def prepare_multiprocess_dir(settings: Settings) -> Path:
    """Before starting several web workers: a shared, empty PROMETHEUS_MULTIPROC_DIR.

    Uses the variable when set, else ``<var_dir>/prometheus``; removes the previous
    run's files (their counters belong to dead processes) and exports the variable so
    that the worker processes inherit it.
    """
    directory = Path(multiprocess_dir() or settings.var_dir / "prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.db"):
        old.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory


@cache
def http_metrics() -> _HttpMetrics:
    """Created on first use, never at import (PROMETHEUS_MULTIPROC_DIR is read then)."""
    return _HttpMetrics(None if multiprocess_dir() else _REQUEST_REGISTRY)


def route_template(scope: Scope) -> str:
    """The matched route's path template; mounts (static files) by their prefix."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (pure ASGI, no body copies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", "GET"))
            metrics = http_metrics()
            metrics.requests.labels(method, route, str(status_code)).inc()
            metrics.latency.labels(method, route).observe(time.perf_counter() - started)


# ------------------------------------------------------------ database figures


class _Snapshot(Collector):
    """Metric families computed before the scrape (collectors are sync; queries async)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels or [])


STATE_VALUES = status.VIEW_STATES


async def database_families(session: AsyncSession, settings: Settings) -> list[Metric]:
    """Every figure read from the database, from the dashboard's own service functions."""
    families: list[Metric] = []

    bugs = _gauge("dcc_bugs", "Bug reports by status and priority.", ["status", "priority"])
    for (bug_status, priority), n in sorted(
        (await support.bug_counts_by_status_priority(session)).items()
    ):
        bugs.add_metric([bug_status, priority], n)
    families.append(bugs)

    families += await _dora_families(session, settings)

    views = await status.current_states(session, settings)
    up = _gauge(
        "dcc_check_up", "1 when the check is up (or pending), 0 when down.", ["check", "type"]
    )
    state = _gauge(
        "dcc_check_state", "The check's current state (1 for the one it is in).", ["check", "state"]
    )
    response = _gauge("dcc_check_response_seconds", "The check's last response time.", ["check"])
    uptime = _gauge(
        "dcc_check_uptime_ratio",
        "Successful probes over probes outside maintenance.",
        ["check", "window"],
    )
    for v in views:
        if v.state in ("up", "pending", "down"):
            up.add_metric([v.name, v.type], 0.0 if v.state == "down" else 1.0)
        for s in STATE_VALUES:
            state.add_metric([v.name, s], 1.0 if v.state == s else 0.0)
        if v.response_ms is not None and v.state != "not_configured":
            response.add_metric([v.name], v.response_ms / 1000)
        for window, value in (("24h", v.uptime_24h), ("7d", v.uptime_7d), ("30d", v.uptime_30d)):
            if value is not None:
                uptime.add_metric([v.name, window], value / 100)
    families += [up, state, response, uptime]

    open_incidents = _gauge("dcc_incidents_open", "Incidents not resolved yet (any source).")
    open_incidents.add_metric([], await incidents.count_open(session))
    families.append(open_incidents)

    jobs = _gauge("dcc_jobs", "Background jobs by status (pending = queue depth).", ["status"])
    for job_status, n in sorted((await outbox.queue_counts(session)).items()):
        jobs.add_metric([job_status], n)
    families.append(jobs)
    return families


async def _dora_families(session: AsyncSession, settings: Settings) -> list[Metric]:
    """The dashboard's report (30 days, production, ``DCC_TIMEZONE``) as gauges."""
    try:
        report = await dora.dora_report(
            session, days=30, tz=settings.timezone, cfr_mode=settings.cfr_mode
        )
    except NotImplementedError:
        return []
    out: list[Metric] = []
    for gauge in dora_presenter.prometheus(report):
        family = _gauge(gauge.name, gauge.doc, gauge.labels)
        for labels, value in gauge.samples:
            family.add_metric(labels, value)
        out.append(family)
    return out


async def _database_or_down(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> list[Metric]:
    """The database figures, or only ``dcc_database_up 0`` when the database is not
    answering: the scrape still succeeds, so a database outage is not mistaken for the
    web being down, and the request metrics stay visible."""
    up = _gauge("dcc_database_up", "1 when the database answered this scrape's queries.")
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), sessionmaker() as session:
            families = await database_families(session, settings)
    except Exception as exc:
        log.warning("metrics: database figures unavailable: %s", type(exc).__name__)
        up.add_metric([], 0.0)
        return [up]
    up.add_metric([], 1.0)
    return [up, *families]


# ------------------------------------------------------------------- the route


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def _authorized(
    request: Request, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> tuple[bool, int]:
    """(allowed, status when refused): 401 for a missing/bad token, 403 off loopback."""
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    kind, _, value = request.headers.get("authorization", "").partition(" ")
    presented = value.strip() if kind.lower() == "bearer" else ""
    if presented:
        if expected and hmac.compare_digest(presented.encode(), expected.encode()):
            return True, 200
        async with sessionmaker() as session, session.begin():
            token = await api_tokens.verify_token(session, plaintext=presented)
        allowed = token is not None and bool({"metrics:read", "admin"} & token.scope_set)
        return allowed, 401
    if expected:
        return False, 401
    host = request.client.host if request.client else None
    return _is_loopback(host), 403


@router.get("/metrics")
async def metrics(request: Request, settings: SettingsDep) -> Response:
    sessionmaker = get_sessionmaker(request)
    allowed, refusal = await _authorized(request, sessionmaker, settings)
    if not allowed:
        headers = {"www-authenticate": "Bearer"} if refusal == 401 else None
        detail = (
            "a valid bearer token is required"
            if refusal == 401
            else "metrics are served to loopback only; set DCC_METRICS_TOKEN to scrape remotely"
        )
        return PlainTextResponse(detail + "\n", status_code=refusal, headers=headers)
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    http_metrics()  # the request families exist even before the first request
    if directory:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Proxy(_REQUEST_REGISTRY))
    registry.register(_Snapshot(await _database_or_down(sessionmaker, settings)))
    return Response(
        generate_latest(registry),
        media_type=CONTENT_TYPE_LATEST,
        headers={"cache-control": "no-store"},
    )


class _Proxy(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def install(app: FastAPI) -> None:
    """Add the route and the request-metrics middleware (called from ``routes.include_all``)."""
    app.include_router(router)
    app.add_middleware(MetricsMiddleware)


__all__ = ["MetricsMiddleware", "database_families", "install", "route_template"]
