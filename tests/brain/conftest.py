"""Brain fixtures: the evaluation FAQ (bench/brain_eval.json) stored and indexed with the
real embedding model (loaded once per test process)."""

from __future__ import annotations

from typing import Any

import pytest
from bench import brain as bench
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.brain import embedder, index

MODEL = embedder.DEFAULT_MODEL


@pytest.fixture(scope="session")
def eval_set() -> dict[str, Any]:
    return bench.load_eval()


@pytest.fixture(scope="session")
def model() -> str:
    """The default model, loaded once for the whole run (the `ai` extra must be installed)."""
    assert embedder.get(MODEL) is not None, embedder.status(MODEL).why
    return MODEL


@pytest.fixture
async def faq(
    sessionmaker: async_sessionmaker[AsyncSession], eval_set: dict[str, Any], model: str
) -> dict[str, set[int]]:
    """The evaluation FAQ stored (translations paired) and indexed: key -> entry ids."""
    async with sessionmaker() as s, s.begin():
        answers = await bench.load_faq(s, eval_set)
        await index.reindex_faq(s, model=model)
    return answers


from tests.api.conftest import make_token  # noqa: E402, F401 (API tokens in brain tests)
