"""Job kinds and periodic schedules, registered by the job modules with decorators."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings


class RetryLater(Exception):
    """Try again after ``delay`` seconds (e.g. a rate limit said so). Counts as an attempt."""

    def __init__(self, message: str, *, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentFailure(Exception):
    """Stop retrying: the job is marked failed with this message (retryable by an admin)."""


@dataclass
class JobContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    job_id: int
    attempt: int
    kind: str
    extras: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta | None = None
    # For schedules that are not a fixed interval (e.g. every day at 09:00 local):
    # returns the period key due at ``now`` or None when nothing is due yet.
    key_at: Callable[[Settings, datetime], str | None] | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    enabled: Callable[[Settings], bool] = lambda _s: True

    def due_key(self, settings: Settings, now: datetime) -> str | None:
        if self.key_at is not None:
            return self.key_at(settings, now)
        assert self.every is not None
        bucket = int(now.timestamp() // self.every.total_seconds())
        return str(bucket)


HANDLERS: dict[str, Handler] = {}
PERIODIC: dict[str, Periodic] = {}


def job(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not fn:
            raise RuntimeError(f"job kind {kind!r} registered twice")
        HANDLERS[kind] = fn
        return fn

    return register


def periodic(spec: Periodic) -> None:
    PERIODIC[spec.kind] = spec
