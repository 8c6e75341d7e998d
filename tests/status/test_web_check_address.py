"""The built-in web check probes the server that runs it: ``dcc demo --port 8011`` (or
serve) is up on its own port, not "down" because nothing answers on :8001. An explicit
``DCC_BASE_URL`` (the public address behind a proxy) is probed as it is.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devops_center.cli.embedded import run_embedded
from devops_center.config import Settings, served_at
from devops_center.incidents.models import Incident
from devops_center.status import service as status
from devops_center.status.models import CheckResult, CheckState
from tests.conftest import make_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    assert port != 8001
    return port


async def test_a_server_on_another_port_reports_its_web_check_up(
    settings: Settings, sessionmaker: Any
) -> None:
    assert "base_url" not in settings.model_fields_set  # no DCC_BASE_URL given
    port = _free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(run_embedded(settings, host="127.0.0.1", port=port, stop=stop))
    result = None
    try:
        for _ in range(300):  # the first probe runs as the worker starts
            async with sessionmaker() as s:
                result = (
                    await s.execute(select(CheckResult).where(CheckResult.check_name == "web"))
                ).scalar()
            if result is not None or server.done():
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(server, timeout=30)
    assert result is not None, "the web check never ran"
    assert result.ok, result.message
    async with sessionmaker() as s:
        state = await s.get(CheckState, "web")
        incidents = (await s.execute(select(Incident))).scalars().all()
    assert state is not None and state.state == "up"
    assert not incidents


@pytest.mark.parametrize(
    ("host", "probed"),
    [
        ("127.0.0.1", "http://127.0.0.1:8011"),
        ("0.0.0.0", "http://127.0.0.1:8011"),  # every interface: probed on loopback
        ("::", "http://[::1]:8011"),
        ("localhost", "http://localhost:8011"),
    ],
)
def test_the_probed_address_follows_the_listening_one(
    tmp_path: Path, host: str, probed: str
) -> None:
    served = served_at(make_settings("sqlite:///unused.db", tmp_path), host, 8011)
    web = status.find_spec(served, "web")
    assert web is not None and web.target == f"{probed}/readyz"


def test_an_explicit_base_url_is_probed_as_given(tmp_path: Path) -> None:
    explicit = make_settings("sqlite:///unused.db", tmp_path, base_url="https://dcc.example.com")
    served = served_at(explicit, "0.0.0.0", 8011)
    assert served.base_url == "https://dcc.example.com"
    web = status.find_spec(served, "web")
    assert web is not None and web.target == "https://dcc.example.com/readyz"
