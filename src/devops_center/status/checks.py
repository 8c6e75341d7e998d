"""What is checked: the built-in checks (web, database, bot, redis) and those of
dcc.toml, and probing one of them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import CheckConfig, Settings, mask_url
from devops_center.status import probes
from devops_center.status.probes import ProbeResult

BUILTIN_CHECKS = ("web", "database", "bot", "redis")
DEFAULT_REMINDER_MINUTES = 30


@dataclass(frozen=True)
class CheckSpec:
    """One check to run: a built-in one (web, database, bot, redis) or from dcc.toml."""

    name: str
    type: str  # web | database | bot | redis | http | tcp | postgres
    builtin: bool
    target: str = ""
    interval: int = 60
    retries: int = 2
    successes: int = 1
    timeout: float = 10.0
    reminder_minutes: int = DEFAULT_REMINDER_MINUTES
    configured: bool = True
    why: str | None = None  # why not configured
    config: CheckConfig | None = None


def check_specs(settings: Settings) -> list[CheckSpec]:
    """Every check, built-in first. A ``[[checks]]`` entry named like a built-in replaces it."""
    configured = {c.name: c for c in settings.checks}
    specs: list[CheckSpec] = []
    if "web" not in configured:
        specs.append(
            CheckSpec("web", "web", True, target=f"{settings.base_url}/readyz", timeout=5.0)
        )
    if "database" not in configured:
        specs.append(
            CheckSpec(
                "database", "database", True, target=mask_url(settings.database_url), timeout=5.0
            )
        )
    if "bot" not in configured:
        bot = settings.telegram_enabled()
        specs.append(
            CheckSpec(
                "bot",
                "bot",
                True,
                target="bot heartbeat (process_heartbeats)",
                timeout=5.0,
                configured=bot.enabled,
                why=None if bot.enabled else bot.why,
            )
        )
    if settings.redis_url and "redis" not in configured:
        specs.append(
            CheckSpec("redis", "redis", True, target=mask_url(settings.redis_url), timeout=5.0)
        )
    for c in settings.checks:
        if c.type == "http":
            target = _hide_password(c.url or "")
        elif c.type == "tcp":
            target = f"{c.host}:{c.port}"
        else:
            target = mask_url(c.dsn or "")
        specs.append(
            CheckSpec(
                name=c.name,
                type=c.type,
                builtin=c.name in BUILTIN_CHECKS,
                target=target,
                interval=c.interval,
                retries=c.retries,
                successes=c.successes,
                timeout=c.timeout,
                reminder_minutes=(
                    DEFAULT_REMINDER_MINUTES if c.reminder_minutes is None else c.reminder_minutes
                ),
                config=c,
            )
        )
    return specs


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def find_spec(settings: Settings, name: str) -> CheckSpec | None:
    return next((s for s in check_specs(settings) if s.name == name), None)


async def probe(
    spec: CheckSpec,
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> ProbeResult:
    """Run the check's probe once (outside any transaction). Never raises."""
    if spec.type == "web":
        return await probes.probe_http(spec.target, timeout_s=spec.timeout)
    if spec.type == "database":
        return await probes.probe_database(sessionmaker, timeout_s=spec.timeout)
    if spec.type == "bot":
        return await probes.probe_bot(sessionmaker, timeout_s=spec.timeout)
    if spec.type == "redis" and spec.config is None:
        return await probes.probe_redis(settings.redis_url or "", timeout_s=spec.timeout)
    c = spec.config
    assert c is not None
    if c.type == "http":
        return await probes.probe_http(
            c.url or "",
            timeout_s=c.timeout,
            expected_status=c.expected_status,
            keyword=c.keyword,
            cert_days_warning=c.cert_days_warning,
        )
    if c.type == "tcp":
        return await probes.probe_tcp(c.host or "", c.port or 0, timeout_s=c.timeout)
    if c.type == "postgres":
        return await probes.probe_postgres(c.dsn or "", timeout_s=c.timeout)
    return await probes.probe_redis(c.dsn or "", timeout_s=c.timeout)
