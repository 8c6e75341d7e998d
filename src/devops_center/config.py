"""Settings: 12-factor environment variables plus an optional ``dcc.toml``.

Built by :func:`get_settings`, never at import time. The environment names are the
common ones (``DATABASE_URL``, ``GITHUB_TOKEN`` …) and ``DCC_*`` for the product's own.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from devops_center.i18n import lazy
from devops_center.inputs import is_http_url

ROLES = ("employee", "manager", "owner", "superadmin")
ADMIN_ROLES = ("owner", "superadmin")
LANGUAGES = ("ru", "en")

Role = Literal["employee", "manager", "owner", "superadmin"]
Language = Literal["ru", "en"]


class ConfigError(Exception):
    """Raised with one human-readable line when the configuration is unusable."""


def _alias(default: Any, *names: str) -> Any:
    return Field(default=default, validation_alias=AliasChoices(*names))


class CheckConfig(BaseModel):
    """One ``[[checks]]`` entry of dcc.toml."""

    name: str = Field(min_length=1, max_length=100)
    type: Literal["http", "tcp", "postgres", "redis"]
    url: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    dsn: str | None = None
    expected_status: int = 200
    keyword: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=120)
    interval: int = Field(default=60, ge=5)
    retries: int = Field(default=2, ge=0, le=20)
    successes: int = Field(default=1, ge=1, le=20)
    cert_days_warning: int = Field(default=14, ge=0)
    reminder_minutes: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _target(self) -> CheckConfig:
        if self.type == "http" and not self.url:
            raise ValueError(f"check {self.name!r}: type http needs url")
        if self.url is not None and not is_http_url(self.url):
            raise ValueError(f"check {self.name!r}: url must be an http:// or https:// URL")
        if self.type == "tcp" and not (self.host and self.port):
            raise ValueError(f"check {self.name!r}: type tcp needs host and port")
        if self.type in ("postgres", "redis") and not self.dsn:
            raise ValueError(f"check {self.name!r}: type {self.type} needs dsn")
        return self


class KpiConfig(BaseModel):
    """One ``[[kpis]]`` entry: a business figure for /morning, from one SQL query."""

    name: str = Field(min_length=1, max_length=100)
    name_ru: str | None = None
    sql: str = Field(min_length=1)
    dsn: str | None = None  # read-only DSN of the team's own database; None = ours
    unit: str = ""


class MaintenanceWindow(BaseModel):
    """A ``[[maintenance]]`` entry: alerts suppressed and uptime not counted."""

    checks: list[str] = Field(default_factory=list)  # empty = every check
    starts_at: str  # ISO 8601
    ends_at: str

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _iso(cls, value: str) -> str:
        from datetime import datetime

        try:
            datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 date and time: {value!r}") from exc
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    database_url: str = _alias("", "DATABASE_URL", "database_url")
    secret_key: SecretStr | None = _alias(None, "SECRET_KEY", "secret_key")
    base_url: str = _alias("http://127.0.0.1:8001", "DCC_BASE_URL", "base_url")
    # The team's product, named in the headers of /devops and /morning ("DevOps панель
    # StaffProBot"); without it /devops names the GitHub repository.
    product_name: str | None = _alias(None, "DCC_PRODUCT_NAME", "product_name")
    var_dir: Path = _alias(Path("var"), "DCC_VAR_DIR", "var_dir")

    github_token: SecretStr | None = _alias(None, "GITHUB_TOKEN", "github_token")
    github_repo: str | None = _alias(None, "GITHUB_REPO", "github_repo")
    github_api_url: str = _alias("https://api.github.com", "GITHUB_API_URL", "github_api_url")
    github_webhook_secret: SecretStr | None = _alias(
        None, "GITHUB_WEBHOOK_SECRET", "github_webhook_secret"
    )
    deploy_workflow: str = _alias("CI/CD", "DCC_DEPLOY_WORKFLOW", "deploy_workflow")
    github_sync_minutes: int = _alias(5, "DCC_GITHUB_SYNC_MINUTES", "github_sync_minutes")
    github_timeout: float = _alias(10.0, "DCC_GITHUB_TIMEOUT", "github_timeout")

    telegram_bot_token: SecretStr | None = _alias(None, "TELEGRAM_BOT_TOKEN", "telegram_bot_token")
    telegram_chat_id: int | None = _alias(None, "TELEGRAM_CHAT_ID", "telegram_chat_id")
    telegram_bot_username: str | None = _alias(
        None, "DCC_TELEGRAM_BOT_USERNAME", "telegram_bot_username"
    )
    telegram_api_url: str = _alias(
        "https://api.telegram.org", "TELEGRAM_API_URL", "telegram_api_url"
    )
    telegram_webhook_url: str | None = _alias(
        None, "DCC_TELEGRAM_WEBHOOK_URL", "telegram_webhook_url"
    )
    telegram_webhook_secret: SecretStr | None = _alias(
        None, "DCC_TELEGRAM_WEBHOOK_SECRET", "telegram_webhook_secret"
    )
    superadmin_telegram_ids: str = _alias(
        "", "DCC_SUPERADMIN_TELEGRAM_IDS", "superadmin_telegram_ids"
    )

    redis_url: str | None = _alias(None, "REDIS_URL", "redis_url")

    default_language: Language = _alias("en", "DCC_DEFAULT_LANGUAGE", "default_language")
    timezone: str = _alias("UTC", "DCC_TIMEZONE", "timezone")
    # The change failure rate: failed + rolled back deployments ("deployments") or
    # deployments that caused an incident ("incidents", as DevLake counts).
    cfr_mode: Literal["deployments", "incidents"] = _alias(
        "deployments", "DCC_CFR_MODE", "cfr_mode"
    )
    morning_at: time = _alias(time(9, 0), "DCC_MORNING_AT", "morning_at")
    metrics_token: SecretStr | None = _alias(None, "DCC_METRICS_TOKEN", "metrics_token")

    upload_dir: Path | None = _alias(None, "DCC_UPLOAD_DIR", "upload_dir")
    max_upload_mb: float = _alias(5.0, "DCC_MAX_UPLOAD_MB", "max_upload_mb")
    bug_rate_limit_per_hour: int = _alias(10, "DCC_BUG_RATE_LIMIT", "bug_rate_limit_per_hour")
    login_max_failures: int = _alias(5, "DCC_LOGIN_MAX_FAILURES", "login_max_failures")
    # JSON API requests per token (or signed-in admin) per minute.
    api_rate_limit: int = _alias(600, "DCC_API_RATE_LIMIT", "api_rate_limit")
    # How old a Telegram Mini App's initData may be (its auth_date), in seconds.
    telegram_initdata_max_age: int = _alias(
        3600, "DCC_TELEGRAM_INITDATA_MAX_AGE", "telegram_initdata_max_age"
    )
    session_idle_hours: float = _alias(12.0, "DCC_SESSION_IDLE_HOURS", "session_idle_hours")
    session_lifetime_days: float = _alias(
        14.0, "DCC_SESSION_LIFETIME_DAYS", "session_lifetime_days"
    )
    cookie_secure: bool | None = _alias(None, "DCC_COOKIE_SECURE", "cookie_secure")
    # How long a worker's claim on a job holds without renewal: the worker renews it every
    # third of this while the job runs, so this bounds how soon the job of a killed worker
    # is taken again, not how long a job may take.
    job_lease_seconds: int = Field(
        default=60,
        ge=5,
        le=3600,
        validation_alias=AliasChoices("DCC_JOB_LEASE_SECONDS", "job_lease_seconds"),
    )
    log_level: str = _alias("INFO", "DCC_LOG_LEVEL", "log_level")
    # The support brain's embedding model (brain/embedder.py lists them); "none" = lexical.
    embedding_model: str = _alias("use-multilingual-v3", "DCC_EMBEDDING_MODEL", "embedding_model")

    config_file: Path | None = _alias(None, "DCC_CONFIG", "config_file")
    checks: list[CheckConfig] = Field(default_factory=list)
    kpis: list[KpiConfig] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, data: Any) -> Any:
        if isinstance(data, dict) and not any(
            data.get(n) for n in ("DATABASE_URL", "database_url")
        ):
            var = Path(str(data.get("var_dir") or data.get("DCC_VAR_DIR") or "var"))
            data = {**data, "database_url": f"sqlite+aiosqlite:///{var / 'dcc.sqlite3'}"}
        return data

    # --------------------------------------------------------------- validators
    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator(
        "session_idle_hours",
        "session_lifetime_days",
        "login_max_failures",
        "api_rate_limit",
        "telegram_initdata_max_age",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"must be more than 0, got {value}")
        return value

    @field_validator("github_repo")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        owner, _, name = value.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"must be owner/name, got {value!r}")
        return value

    @field_validator("github_api_url", "telegram_api_url", "base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("superadmin_telegram_ids")
    @classmethod
    def _ids(cls, value: str) -> str:
        for part in value.replace(";", ",").split(","):
            if part.strip() and not part.strip().lstrip("-").isdigit():
                raise ValueError(f"telegram ids must be numbers, got {part.strip()!r}")
        return value

    @field_validator(
        "github_token",
        "github_webhook_secret",
        "telegram_bot_token",
        "telegram_webhook_secret",
        "metrics_token",
        "secret_key",
        mode="before",
    )
    @classmethod
    def _empty_secret(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("redis_url", "telegram_webhook_url", mode="before")
    @classmethod
    def _empty_str(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator(
        "telegram_chat_id", "cookie_secure", "upload_dir", "config_file", mode="before"
    )
    @classmethod
    def _empty_opt(cls, value: Any) -> Any:
        return None if value == "" else value

    # ------------------------------------------------------------------ derived
    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uploads_path(self) -> Path:
        return self.upload_dir or (self.var_dir / "uploads")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def superadmin_ids(self) -> frozenset[int]:
        parts = self.superadmin_telegram_ids.replace(";", ",").split(",")
        return frozenset(int(p) for p in (p.strip() for p in parts) if p)

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")

    def github_enabled(self) -> Feature:
        if not self.github_token:
            return Feature(False, lazy("GITHUB_TOKEN is not set: bugs are kept locally"))
        if not self.github_repo:
            return Feature(False, lazy("GITHUB_REPO is not set (owner/name)"))
        return Feature(True, f"{self.github_repo} via {self.github_api_url}")

    def webhooks_enabled(self) -> Feature:
        if not self.github_webhook_secret:
            return Feature(False, "GITHUB_WEBHOOK_SECRET is not set: /webhooks/github refuses all")
        return Feature(True, "signed deliveries accepted at /webhooks/github")

    def telegram_enabled(self) -> Feature:
        if not self.telegram_bot_token:
            return Feature(False, lazy("TELEGRAM_BOT_TOKEN is not set: the bot is off"))
        mode = "webhook" if self.telegram_webhook_url else "long polling"
        return Feature(True, f"{mode} via {self.telegram_api_url}")

    def admin_chat_enabled(self) -> Feature:
        if not self.telegram_bot_token:
            return Feature(False, "the bot is off")
        if self.telegram_chat_id is None:
            return Feature(False, "TELEGRAM_CHAT_ID is not set: no alerts to the admin chat")
        return Feature(True, f"alerts to chat {self.telegram_chat_id}")

    def redis_enabled(self) -> Feature:
        if not self.redis_url:
            return Feature(False, "REDIS_URL is not set: bot dialog state kept in the database")
        return Feature(True, mask_url(self.redis_url))

    def features(self) -> dict[str, Feature]:
        return {
            "github": self.github_enabled(),
            "github_webhooks": self.webhooks_enabled(),
            "telegram_bot": self.telegram_enabled(),
            "telegram_admin_chat": self.admin_chat_enabled(),
            "redis": self.redis_enabled(),
        }

    def session_secret(self) -> str:
        """The signing key for cookies and CSRF tokens.

        With ``SECRET_KEY`` unset (embedded mode) a random key is created once and kept
        in ``var/secret_key`` so that restarts and several processes share it.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


@dataclass(frozen=True)
class Feature:
    enabled: bool
    why: str


def _names(field: Any) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(c) for c in alias.choices]
    return [str(alias)] if alias else []


def normalize_database_url(value: str) -> str:
    """Accept SQLAlchemy async URLs and the plain ``sqlite:///`` / ``postgresql://`` forms."""
    value = value.strip()
    if not value:
        raise ValueError("is empty")
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"is not a database URL: {mask_url(value)!r}") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername not in ("sqlite", "sqlite+aiosqlite"):
            raise ValueError(f"unsupported SQLite driver {url.drivername!r}; use sqlite+aiosqlite")
        url = url.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        if url.drivername not in ("postgresql", "postgres", "postgresql+asyncpg"):
            raise ValueError(
                f"unsupported PostgreSQL driver {url.drivername!r}; use postgresql+asyncpg"
            )
        if not url.database:
            raise ValueError("names no database")
        url = url.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return url.render_as_string(hide_password=False)


def mask_url(value: str) -> str:
    try:
        return make_url(value).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable>"


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"DCC_CONFIG: file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"checks", "kpis", "maintenance"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    return data


def served_at(settings: Settings, host: str, port: int) -> Settings:
    """The settings of a server listening on ``host:port``.

    Without an explicit ``DCC_BASE_URL`` the base URL — what the built-in ``web`` check
    probes, and the address in links — is where this server really listens (a wildcard
    host is probed on loopback), not the default ``:8001``. An explicit one is kept: it
    is the public address (a proxy, https).
    """
    if "base_url" in settings.model_fields_set:
        return settings
    host = host.strip("[]") or "127.0.0.1"
    with contextlib.suppress(ValueError):  # a host name is kept as it is
        if ipaddress.ip_address(host).is_unspecified:  # every interface: probe loopback
            host = "::1" if ":" in host else "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    return settings.model_copy(update={"base_url": f"http://{netloc}:{port}"})


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, ``dcc.toml`` and ``overrides``.

    Raises :class:`ConfigError` with one clear line on any bad value.
    """
    config_path = overrides.get("config_file") or os.environ.get("DCC_CONFIG")
    toml: dict[str, Any] = {}
    if config_path:
        toml = _load_toml(Path(config_path))
    elif Path("dcc.toml").exists() and "checks" not in overrides:
        toml = _load_toml(Path("dcc.toml"))
        overrides.setdefault("config_file", Path("dcc.toml"))
    try:
        return Settings(**{**toml, **overrides})
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from exc


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "settings"
        field = Settings.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        names = _names(field) if field else []
        name = names[0] if names and len(err["loc"]) == 1 else loc
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {msg}")
    return "invalid configuration: " + "; ".join(parts)
