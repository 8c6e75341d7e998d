"""The typed job contract: a job kind is a Pydantic message class with one handler.

A feature declares the message in :mod:`devops_center.outbox.messages` (the contract
between the code that enqueues and the code that runs it) and registers its handler in
its own ``jobs`` module::

    @handles(messages.CreateGithubIssue)
    async def create_issue(ctx: JobContext, msg: messages.CreateGithubIssue) -> None: ...

``outbox.enqueue(session, messages.CreateGithubIssue(bug_id=7))`` stores the message's
JSON; the worker validates the stored payload against the class before running the
handler, and parks a job whose kind is unknown or whose payload no longer validates,
with the reason, for an admin to see (``/admin/jobs``, ``dcc jobs list``).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings


class RetryLater(Exception):
    """Try again after ``delay`` seconds (e.g. a rate limit said so). Counts as an attempt."""

    def __init__(self, message: str, *, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


BASE_BACKOFF = 2.0
MAX_BACKOFF = 3600.0


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with full jitter, capped at an hour."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


class PermanentFailure(Exception):
    """Stop retrying: the job is marked failed with this message (retryable by an admin)."""


class JobMessage(BaseModel):
    """The payload of one job kind. Subclasses set ``kind`` with :func:`message`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str] = ""


M = TypeVar("M", bound=JobMessage)

MESSAGES: dict[str, type[JobMessage]] = {}


def message(kind: str) -> Callable[[type[M]], type[M]]:
    """Class decorator: ``kind`` is the name stored in the job table (keep it stable:
    jobs already queued under it must still be understood after an upgrade)."""

    def register(cls: type[M]) -> type[M]:
        current = MESSAGES.get(kind)
        if current is not None and current is not cls:
            raise RuntimeError(f"job kind {kind!r} declared twice")
        cls.kind = kind
        MESSAGES[kind] = cls
        return cls

    return register


@dataclass
class JobContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    job_id: int
    attempt: int
    kind: str
    extras: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[JobContext, Any], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def handles(cls: type[M]) -> Callable[[Callable[[JobContext, M], Awaitable[None]]], Handler]:
    """Register the handler of the job kind ``cls`` (one handler per kind)."""
    if MESSAGES.get(cls.kind) is not cls:
        raise RuntimeError(f"{cls.__name__} is not a declared job message")

    def register(fn: Callable[[JobContext, M], Awaitable[None]]) -> Handler:
        current = HANDLERS.get(cls.kind)
        if current is not None and current is not fn:
            raise RuntimeError(f"job kind {cls.kind!r} has a handler already")
        HANDLERS[cls.kind] = fn
        return fn

    return register


class UnknownJob(Exception):
    """A stored job whose kind has no message class or no handler in this process."""


def parse(kind: str, payload: dict[str, Any]) -> tuple[JobMessage, Handler]:
    """The validated message of a stored job and its handler.

    Raises :class:`UnknownJob` or pydantic's ``ValidationError`` (malformed payload).
    """
    cls = MESSAGES.get(kind)
    handler = HANDLERS.get(kind)
    if cls is None or handler is None:
        raise UnknownJob(f"no handler for job kind {kind!r}")
    return cls.model_validate(payload), handler


@dataclass(frozen=True)
class Periodic:
    """A message enqueued once per period by whichever scheduler gets there first."""

    message: JobMessage
    every: timedelta | None = None
    # For schedules that are not a fixed interval (e.g. every day at 09:00 local):
    # returns the period key due at ``now`` or None when nothing is due yet.
    key_at: Callable[[Settings, datetime], str | None] | None = None
    enabled: Callable[[Settings], bool] = lambda _s: True

    @property
    def kind(self) -> str:
        return self.message.kind

    def due_key(self, settings: Settings, now: datetime) -> str | None:
        if self.key_at is not None:
            return self.key_at(settings, now)
        assert self.every is not None
        bucket = int(now.timestamp() // self.every.total_seconds())
        return str(bucket)


PERIODIC: dict[str, Periodic] = {}


def periodic(spec: Periodic) -> None:
    PERIODIC[spec.kind] = spec
