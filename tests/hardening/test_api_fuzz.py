"""Schemathesis against the app's own OpenAPI schema, over real HTTP.

Every ``/api/v1`` operation, authenticated with an admin-scoped test token: no 5xx, every
response matches its documented schema. ``make test`` runs a fixed-seed 1,000+ case run
(counted below); ``make fuzz`` (``DCC_FUZZ_LONG=1``) runs ten times more.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devops_center.users import tokens as api_tokens
from tests.conftest import make_settings

pytestmark = pytest.mark.fuzz

LONG = os.environ.get("DCC_FUZZ_LONG") == "1"
TOTAL_CASES = 10_000 if LONG else 1_000


def _not_a_server_error(ctx: Any, response: Any, case: Any) -> bool:
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
    )
    return True


async def _admin_token(sessionmaker: Any) -> str:
    async with sessionmaker() as s, s.begin():
        _row, plaintext = await api_tokens.create_token(s, name="fuzz", scopes=["admin"])
    return plaintext


async def test_api_fuzz(
    live_server_with: Any, sessionmaker: Any, db_url: str, tmp_path: Path
) -> None:
    # A rate limit the fuzzer never reaches: every case reaches its route.
    live_server = live_server_with(make_settings(db_url, tmp_path, api_rate_limit=10**9))
    plaintext = await _admin_token(sessionmaker)
    cases, operations = await asyncio.to_thread(_fuzz, live_server.url, plaintext)
    print(f"schemathesis: {cases} cases over {operations} operations ({db_url.split(':')[0]})")
    assert cases >= TOTAL_CASES, f"schemathesis generated only {cases} cases"


def _fuzz(base_url: str, plaintext: str) -> tuple[int, int]:
    schema = schemathesis.openapi.from_url(base_url + "/api/openapi.json")
    operations = [
        op.ok() for op in schema.get_all_operations() if op.ok().path.startswith("/api/v1")
    ]
    assert operations, "no /api/v1 operations in the schema"
    # Every operation, in both modes (valid and invalid input), shares the total.
    per_operation = max(30, TOTAL_CASES // (2 * len(operations)) + 1)
    headers = {"Authorization": f"Bearer {plaintext}"}
    cases = 0
    for operation, mode in itertools.product(operations, list(GenerationMode)):
        strategy = operation.as_strategy(generation_mode=mode)

        @seed(20261128)
        @settings(
            max_examples=per_operation,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal cases
            cases += 1
            response = case.call(base_url=base_url, headers=headers, timeout=15)
            case.validate_response(
                response,
                checks=[
                    _not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        try:
            given(strategy)(run)()
        except Unsatisfiable:
            # Nothing to make invalid (an operation without parameters or body).
            assert mode is GenerationMode.NEGATIVE, operation.label
    return cases, len(operations)
