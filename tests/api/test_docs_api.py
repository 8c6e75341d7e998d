"""docs/api.md: its curl examples run, top to bottom as one shell session, against a
real server, and do what the page says."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from devops_center.incidents.models import Incident
from devops_center.support.models import BugComment, BugLog, FaqEntry
from devops_center.users import service as users
from devops_center.users import tokens as api_tokens
from devops_center.users.models import User
from tests.conftest import unavailable

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def doc_script() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 8, "docs/api.md lost its curl examples"
    return "\n".join(blocks)


async def test_the_documented_session_runs(
    live_server: Any, sessionmaker: Any, people: dict[str, User], tmp_path: Path
) -> None:
    for binary in ("bash", "curl", "jq"):
        if shutil.which(binary) is None:
            unavailable(binary, "not installed (.ci/run installs it)")
    async with sessionmaker() as s, s.begin():
        _row, token = await api_tokens.create_token(
            s, name="docs", scopes=["admin"], user_id=people["owner"].id
        )
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(image, "PNG")
    (tmp_path / "screenshot.png").write_bytes(image.getvalue())
    script = tmp_path / "session.sh"
    script.write_text(doc_script())
    proc = await asyncio.create_subprocess_exec(
        "bash", "--noprofile", "--norc", "-euo", "pipefail", str(script),
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
             "DCC_URL": live_server.url, "DCC_TOKEN": token},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out_bytes, _ = await asyncio.wait_for(proc.communicate(), 120)
    out = out_bytes.decode()
    assert proc.returncode == 0, out
    assert re.search(r"^filed bug \d+$", out, re.M), out
    assert re.search(r"^304$", out, re.M), out  # the ETag round trip
    assert "title: String should have at least 3 characters" in out
    assert "priority: " in out
    assert "10 I forgot my password" in out and "20 How do I get VPN access?" in out
    assert '{"id":1,"from_team":true,"internal":false}' in out
    assert re.search(r"^/api/v1/bugs/\d+/comments/3/attachment$", out, re.M), out
    assert "Test owner internal=true: Same as the CDN outage last week?" in out
    assert "status in_progress" in out and "comment  Thanks! Which browser was it?" in out
    assert "invite link: true" in out and "lee@example.com employee" in out
    assert re.search(r"^204$", out, re.M), out
    assert "user deactivate by Test owner" in out or "user update by Test owner" in out, out

    async with sessionmaker() as s:
        bugs = list((await s.execute(select(BugLog).order_by(BugLog.id))).scalars())
        assert [b.title for b in bugs] == [
            "Checkout button does nothing",
            "The report page is blank",
        ]
        assert bugs[0].status == "in_progress" and bugs[0].assigned_to == people["owner"].id
        assert bugs[1].screenshot_key and bugs[0].user_id == people["owner"].id
        assert len(list((await s.execute(select(FaqEntry))).scalars())) == 2
        incident = (await s.execute(select(Incident))).scalar_one()
        assert incident.resolved_at is not None and incident.opened_by == people["owner"].id
        notes = list((await s.execute(select(BugComment).order_by(BugComment.id))).scalars())
        assert [(c.internal, c.bug_id) for c in notes] == [(False, bugs[0].id)] * 1 + [
            (True, bugs[0].id),
            (False, bugs[0].id),
        ]
        assert notes[2].attachment_key
        dana = await users.get_by_email(s, email="dana@example.com")
        assert dana is not None and dana.role == "manager" and not dana.is_active
