"""Talking to GitHub from jobs: the client from settings, what a failure means for the
job (retry when GitHub said so, stop on a refusal), the pause GitHub can ask for, and
small caches of what GitHub told us (the token's login, labels that exist)."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center import cache
from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.github.models import GithubSyncState
from devops_center.integrations.github.client import (
    GithubClient,
    GithubPermanent,
    GithubRetryable,
)
from devops_center.outbox.registry import (
    JobContext,
    PermanentFailure,
    RetryLater,
    backoff_delay,
)

CACHE_TTL = timedelta(hours=12)


def client(settings: Settings) -> GithubClient:
    assert settings.github_token is not None and settings.github_repo is not None
    return GithubClient(
        api_url=settings.github_api_url,
        token=settings.github_token.get_secret_value(),
        repo=settings.github_repo,
        timeout=settings.github_timeout,
    )


def repo_of(settings: Settings) -> str:
    return settings.github_repo or ""


def same_repo(settings: Settings, repo: str) -> bool:
    return settings.github_repo is None or settings.github_repo.lower() == repo.lower()


def retry_delay(exc: GithubRetryable, attempt: int) -> float:
    """GitHub's own wait when it gave one (plus up to 10 % jitter, so queued jobs don't
    stampede), never less than the worker's exponential backoff for this attempt."""
    backoff = backoff_delay(attempt)
    if exc.retry_after is None:
        return backoff
    asked = exc.retry_after * random.uniform(1.0, 1.1)  # noqa: S311 - jitter, not crypto
    return max(asked, backoff)


def translate(exc: Exception, attempt: int) -> Exception:
    if isinstance(exc, GithubRetryable):
        return RetryLater(exc.message, delay=retry_delay(exc, attempt))
    if isinstance(exc, GithubPermanent):
        return PermanentFailure(exc.message)
    return exc


# ------------------------------------------------------------------ sync state row


async def state(session: AsyncSession, repo: str) -> GithubSyncState | None:
    return await session.get(GithubSyncState, repo, populate_existing=True)


async def update_state(session: AsyncSession, repo: str, **values: Any) -> None:
    """Set fields of the repository's state row (created on first use)."""
    now = utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(GithubSyncState).values(repo=repo, updated_at=now, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["repo"], set_={**values, "updated_at": now})
    )


async def failed(ctx: JobContext, exc: GithubRetryable | GithubPermanent) -> Exception:
    """The job's exception for a GitHub failure. When GitHub named a wait (rate limits,
    Retry-After), every GitHub job pauses until then, not only this one."""
    if isinstance(exc, GithubRetryable) and exc.retry_after:
        until = utcnow() + timedelta(seconds=exc.retry_after)
        async with ctx.sessionmaker() as session, session.begin():
            await update_state(session, repo_of(ctx.settings), paused_until=until)
    return translate(exc, ctx.attempt)


def check_pause(paused_until: datetime | None) -> None:
    """RetryLater while GitHub asked us to wait."""
    if paused_until is None:
        return
    remaining = (paused_until - utcnow()).total_seconds()
    if remaining > 0:
        delay = remaining * random.uniform(1.0, 1.1)  # noqa: S311 - jitter, not crypto
        raise RetryLater(
            f"GitHub asked us to wait until {paused_until.isoformat()} (rate limit)", delay=delay
        )


async def paused_until(session: AsyncSession, settings: Settings) -> datetime | None:
    row = await state(session, repo_of(settings))
    return row.paused_until if row is not None else None


# ------------------------------------------------------------------------- caches


def login_key(settings: Settings) -> str:
    """The cache key of the token's login: changes with the token."""
    token = settings.github_token.get_secret_value() if settings.github_token else ""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"github:login:{settings.github_api_url}:{digest}"


def label_key(repo: str, name: str) -> str:
    return f"github:label:{repo}:{name}"


async def remember(ctx: JobContext, key: str, value: Any, *, ttl: timedelta = CACHE_TTL) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await cache.put(session, key=key, value=value, ttl=ttl)
