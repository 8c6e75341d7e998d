"""`dcc users invite` and `dcc audit list`: the web's functions from the terminal."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from devops_center.users.models import Invite
from tests.cli.test_cli import dcc


async def test_invite_then_audit_list(
    settings: Any, sessionmaker: Any, people: dict[str, Any]
) -> None:
    env = {
        "DATABASE_URL": settings.database_url,
        "DCC_VAR_DIR": str(settings.var_dir),
        "DCC_CONFIG": "",
        "DCC_BASE_URL": "https://hub.example.com",
    }
    made = dcc("users", "invite", "--email", "Zoe@Example.com", "--role", "manager", env=env)
    assert made.returncode == 0, made.stderr
    assert "https://hub.example.com/invite/" in made.stdout
    refused = dcc("users", "invite", env=env)
    assert refused.returncode == 2 and "--email" in refused.stderr
    taken = dcc("users", "invite", "--email", "owner@test.local", env=env)
    assert taken.returncode == 2 and "already exists" in taken.stderr
    async with sessionmaker() as s:
        invite = (await s.execute(select(Invite))).scalar_one()
    assert (invite.email, invite.role, invite.channel) == ("zoe@example.com", "manager", "email")

    listed = dcc("audit", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows[0]["entity"] == "invite" and rows[0]["action"] == "create"
    assert rows[0]["actor"] == "system/cli" and rows[0]["details"]["email"] == "zoe@example.com"
    text = dcc("audit", "list", "--entity", "invite", env=env)
    assert "create invite#" in text.stdout
