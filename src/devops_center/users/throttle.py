"""Failed-sign-in throttling: atomic, per (account, IP) and per IP, with exponential back-off.

The policy (documented in docs/operations.md):

- Every password check first *reserves* an attempt, in a short transaction of its own
  that the caller commits before the (slow) password verification. A reservation is one
  upsert that increments the key's counter and returns the row only if the key was not
  blocked, so 20 attempts at once can never all pass: the database serialises them.
- Two keys: the account from this IP (``DCC_LOGIN_MAX_FAILURES`` free attempts) and the
  IP alone (four times as many, across all accounts). Reaching a limit blocks the key
  for 30 s; each further failure after a block doubles it, up to 15 minutes.
- There is no account-wide key: a stranger guessing from their own addresses blocks
  only those addresses, so the owner signs in from theirs at once. A correct password
  clears its (account, IP) key and gives back its reservation on the IP key.
- A key forgets its failures after an hour without attempts; a periodic job deletes
  such rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from sqlalchemy import Float, Integer, case, delete, literal, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.errors import RateLimited
from devops_center.i18n import lazy
from devops_center.users.models import LoginThrottle

IP_FACTOR = 4  # the per-IP limit is this many times the per-(account, IP) limit


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5  # per (account, IP); DCC_LOGIN_MAX_FAILURES
    first_block: int = 30  # seconds, when a key reaches its limit
    max_block: int = 15 * 60  # the doubling stops here
    forget_after: int = 3600  # seconds without attempts after which a key starts over

    @property
    def ip_max_failures(self) -> int:
        return self.max_failures * IP_FACTOR


def account_key(account: str, ip: str | None) -> str:
    return f"acct-ip:{account.strip().lower()}|{ip or '-'}"[:300]


def ip_key(ip: str | None) -> str:
    return f"ip:{ip or '-'}"


async def _reserve(
    session: AsyncSession, *, key: str, limit: int, policy: LoginPolicy, now: float
) -> bool:
    """Count one attempt on ``key`` unless it is blocked; True if counted. One statement."""
    limit = max(1, limit)
    t = LoginThrottle.__table__
    now_ = literal(now, Float)
    stale = t.c.last_at < now - policy.forget_after
    attempts = case((stale, 1), else_=t.c.attempts + 1)
    # 2 ** (attempts - limit) without a power function (SQLite has none by default);
    # the exponent is capped so the shift never overflows.
    cap = math.ceil(math.log2(max(1, policy.max_block / policy.first_block)))
    shift = case((attempts - limit > cap, cap), else_=attempts - limit)
    doubled = literal(policy.first_block, Integer) * literal_column("1").op("<<")(shift)
    block = case((doubled > policy.max_block, policy.max_block), else_=doubled)
    blocked_until = case((attempts >= limit, now_ + block), else_=literal(0.0, Float))
    first_blocked_until = now + policy.first_block if limit <= 1 else 0.0

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new = insert(LoginThrottle).values(
        key=key, attempts=1, last_at=now, blocked_until=first_blocked_until
    )
    stmt = new.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"attempts": attempts, "last_at": now_, "blocked_until": blocked_until},
        where=(t.c.attempts < limit) | (t.c.blocked_until <= now_) | stale,
    ).returning(t.c.attempts)
    return (await session.execute(stmt)).first() is not None


async def _refund(session: AsyncSession, *, key: str) -> None:
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.attempts > 0)
        .values(attempts=LoginThrottle.attempts - 1)
    )


async def _refused(session: AsyncSession, *, key: str, now: float) -> RateLimited:
    stmt = select(LoginThrottle.blocked_until).where(LoginThrottle.key == key)
    until = (await session.execute(stmt)).scalar_one_or_none() or now
    seconds = max(1, math.ceil(until - now))
    return RateLimited(
        lazy("Too many failed sign-in attempts. Try again in %(seconds)s s."),
        retry_after=seconds,
        seconds=seconds,
    )


async def reserve_attempt(
    session: AsyncSession,
    *,
    account: str,
    ip: str | None,
    policy: LoginPolicy,
    now: float | None = None,
) -> None:
    """Reserve one password check for ``account`` from ``ip``, or raise RateLimited.

    The caller commits this in its own short transaction *before* verifying the
    password, so that parallel attempts see each other's reservations.
    """
    now = time.time() if now is None else now
    pair = account_key(account, ip)
    if not await _reserve(session, key=pair, limit=policy.max_failures, policy=policy, now=now):
        raise await _refused(session, key=pair, now=now)
    addr = ip_key(ip)
    if not await _reserve(session, key=addr, limit=policy.ip_max_failures, policy=policy, now=now):
        await _refund(session, key=pair)  # refused attempts don't count against the pair
        raise await _refused(session, key=addr, now=now)


async def attempt_succeeded(session: AsyncSession, *, account: str, ip: str | None) -> None:
    """The password was right: clear the (account, IP) key, give back the IP reservation."""
    pair = account_key(account, ip)
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair))
    await _refund(session, key=ip_key(ip))


async def purge(session: AsyncSession, *, policy: LoginPolicy, now: float | None = None) -> int:
    """Delete keys that have forgotten their failures and are not blocked."""
    now = time.time() if now is None else now
    result = await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_at < now - policy.forget_after, LoginThrottle.blocked_until < now
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
