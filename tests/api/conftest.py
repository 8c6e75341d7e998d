"""API test helpers: tokens of any scopes, for a user or an integration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from devops_center.users import tokens as api_tokens
from devops_center.users.models import User
from tests.hardening.conftest import live_server, live_server_with  # noqa: F401 (fixtures)

MakeToken = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_token(sessionmaker: Any) -> MakeToken:
    """``await make_token("bugs:read", user=people["employee"])`` → auth headers."""

    async def factory(*scopes: str, user: User | None = None, name: str = "t") -> dict[str, str]:
        async with sessionmaker() as s, s.begin():
            _row, plaintext = await api_tokens.create_token(
                s, name=name, scopes=list(scopes), user_id=user.id if user else None
            )
        return {"authorization": f"Bearer {plaintext}"}

    return factory


BUG = {
    "title": "Checkout button does nothing",
    "what_doing": "Paying for an order",
    "expected": "The payment page",
    "actual": "Nothing happens",
}
