"""Failed sign-ins are throttled atomically, per (account, IP) and per IP, never per account.

The policy is in :mod:`devops_center.users.throttle` and docs/operations.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from devops_center.errors import RateLimited
from devops_center.users import throttle
from devops_center.users.models import LoginThrottle
from tests.conftest import PASSWORD, csrf_token, login

POLICY = throttle.LoginPolicy(max_failures=5)


async def test_parallel_wrong_passwords_let_at_most_the_limit_through(
    make_client: Any, people: dict[str, Any], settings: Any
) -> None:
    """20 wrong passwords at once for one account from one address: at most
    DCC_LOGIN_MAX_FAILURES reach password verification (400), the rest are 429."""
    clients = [make_client(ip="198.51.100.7") for _ in range(20)]
    tokens = [await csrf_token(c) for c in clients]

    async def attempt(c: Any, token: str) -> int:
        response = await c.post(
            "/login",
            data={"csrftoken": token, "email": "owner@test.local", "password": "wrong"},
        )
        return int(response.status_code)

    statuses = Counter(await asyncio.gather(*map(attempt, clients, tokens)))
    limit = settings.login_max_failures
    assert set(statuses) <= {400, 429}, statuses
    assert statuses[400] <= limit, statuses
    assert statuses[429] >= 20 - limit, statuses

    # That address is blocked for this account even with the right password …
    blocked = await login(make_client(ip="198.51.100.7"), "owner@test.local")
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts. Try again in" in blocked.text
    assert 1 <= int(blocked.headers["retry-after"]) <= 30
    # … but the owner, from their own address, signs in at once: no account lockout.
    assert (await login(make_client(ip="203.0.113.5"), "owner@test.local")).status_code == 303


async def test_a_stranger_on_many_addresses_cannot_lock_the_owner_out(
    make_client: Any, people: dict[str, Any]
) -> None:
    for n in range(4):
        stranger = make_client(ip=f"192.0.2.{n + 1}")
        for _ in range(6):
            await login(stranger, "employee@test.local", "guess")
        assert (await login(stranger, "employee@test.local", "guess")).status_code == 429
    owner = make_client(ip="203.0.113.9")
    assert (await login(owner, "employee@test.local")).status_code == 303


async def test_the_block_doubles_up_to_fifteen_minutes_and_a_success_clears_it(
    session: Any,
) -> None:
    t = 1_000_000.0

    async def attempt(now: float) -> int | None:
        """None when reserved, else the Retry-After in seconds."""
        try:
            await throttle.reserve_attempt(
                session, account="A@x.io", ip="192.0.2.1", policy=POLICY, now=now
            )
        except RateLimited as exc:
            return exc.retry_after
        finally:
            await session.commit()
        return None

    for _ in range(5):
        assert await attempt(t) is None
    waits = []
    for _ in range(8):
        wait = await attempt(t)
        assert wait is not None
        waits.append(wait)
        assert await attempt(t + wait - 1) is not None  # still blocked a second before
        t += wait
        assert await attempt(t) is None  # one more try when the block ends
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]
    # The same account from another address, and another account from this one, are free.
    await throttle.reserve_attempt(session, account="a@x.io", ip="192.0.2.2", policy=POLICY, now=t)
    await throttle.reserve_attempt(session, account="b@x.io", ip="192.0.2.1", policy=POLICY, now=t)
    await session.commit()
    # The right password clears the (account, IP) key.
    await throttle.attempt_succeeded(session, account="a@x.io", ip="192.0.2.1")
    await session.commit()
    assert await attempt(t) is None
    # An hour without attempts forgets the failures, and the purge job deletes the keys.
    assert await throttle.purge(session, policy=POLICY, now=t + 1000) == 0
    assert await throttle.purge(session, policy=POLICY, now=t + 3601) == 5  # 3 pairs, 2 IPs
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


async def test_per_ip_limit_across_accounts_with_successes_given_back(
    make_client: Any, people: dict[str, Any], session: Any
) -> None:
    """One address: many colleagues behind one NAT sign in fine (each success gives its
    reservation back), but 20 failures on any accounts block the address."""
    for _ in range(30):
        await throttle.reserve_attempt(
            session, account="employee@test.local", ip="198.51.100.50", policy=POLICY
        )
        await throttle.attempt_succeeded(session, account="employee@test.local", ip="198.51.100.50")
        await session.commit()

    c = make_client(ip="198.51.100.50")
    for n in range(POLICY.ip_max_failures):
        assert (await login(c, f"ghost{n}@test.local", "bad")).status_code == 400
    response = await login(c, "manager@test.local")
    assert response.status_code == 429
    other = make_client(ip="198.51.100.51")
    assert (await login(other, "manager@test.local")).status_code == 303


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_the_429_page_says_when_to_try_again(
    make_client: Any, people: dict[str, Any], lang: str
) -> None:
    c = make_client(ip="192.0.2.77")
    c.headers["accept-language"] = lang
    for _ in range(5):
        await login(c, "owner@test.local", "bad")
    response = await login(c, "owner@test.local", PASSWORD)
    assert response.status_code == 429
    expected = "Слишком много неудачных попыток входа" if lang == "ru" else "Too many failed"
    assert expected in response.text
    assert 'value="owner@test.local"' in response.text
