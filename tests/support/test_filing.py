"""Filing a bug under races and hostile uploads: one bug per form token however many
arrive at once, the per-reporter limit under concurrency, images decoded off the event
loop, metadata stripped from every format, and no file left behind by a failed request."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devops_center import worker
from devops_center.config import Settings
from devops_center.outbox import messages
from devops_center.outbox import service as outbox
from devops_center.outbox.models import Job
from devops_center.support import uploads
from devops_center.support.models import BugLog
from devops_center.users.models import User
from tests.conftest import csrf_token, make_settings, random_token
from tests.web.test_support_pages import GOOD, png_bytes

FAKE_ICC = b"FAKE-ICC-PROFILE-" * 8


async def _bugs(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(BugLog)) or 0)


async def _form(client: httpx.AsyncClient) -> tuple[str, str]:
    """The CSRF token and a fresh client token of the bug form."""
    token = await csrf_token(client, "/support/bug")
    page = (await client.get("/support/bug")).text
    start = page.index('name="client_token" value="') + len('name="client_token" value="')
    return token, page[start : page.index('"', start)]


async def test_twenty_identical_posts_file_one_bug(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Double clicks and retries: the same form sent 20 times at once → one bug, 20
    answers that all lead to it, none a 5xx."""
    client = await as_role("employee")
    csrf, client_token = await _form(client)
    data = {"csrftoken": csrf, "client_token": client_token, **GOOD}
    answers = await asyncio.gather(*(client.post("/support/bug", data=data) for _ in range(20)))
    assert [a.status_code for a in answers] == [303] * 20, [a.text[:200] for a in answers]
    assert len({a.headers["location"] for a in answers}) == 1
    assert await _bugs(sessionmaker) == 1


async def test_rate_limit_holds_under_concurrency(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """20 different reports at once with a limit of 10 an hour: 10 stored, 10 refused."""
    client = await as_role("employee")
    forms = [await _form(client) for _ in range(20)]
    answers = await asyncio.gather(
        *(
            client.post(
                "/support/bug",
                data={"csrftoken": csrf, "client_token": token, **GOOD, "title": f"Bug {n}"},
            )
            for n, (csrf, token) in enumerate(forms)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [303] * 10 + [429] * 10
    assert await _bugs(sessionmaker) == settings.bug_rate_limit_per_hour == 10


def _big_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((side, side), 64).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


async def test_a_large_image_does_not_stall_other_requests(
    as_role: Any, make_client: Any, settings: Settings, app: Any
) -> None:
    """Decoding and re-encoding run in a thread: /healthz answers at once meanwhile."""
    client = await as_role("employee")
    csrf, token = await _form(client)
    big = _big_png(4500)  # 20 MP: under the cap, about a second of work
    app.state.settings = settings.model_copy(update={"max_upload_mb": 60})
    probe = make_client()
    upload = asyncio.create_task(
        client.post(
            "/support/bug",
            data={"csrftoken": csrf, "client_token": token, **GOOD},
            files={"screenshot": ("big.png", big, "image/png")},
        )
    )
    await asyncio.sleep(0.05)
    slowest = 0.0
    while not upload.done():
        started = time.perf_counter()
        assert (await probe.get("/healthz")).status_code == 200
        slowest = max(slowest, time.perf_counter() - started)
        await asyncio.sleep(0.02)
    assert (await upload).status_code == 303
    assert slowest < 0.25, f"/healthz waited {slowest:.2f} s behind the upload"


# 36 MP passes Pillow's own limit and meets ours; 225 MP trips Pillow's at open()
@pytest.mark.parametrize("side", [6000, 15000])
async def test_decompression_bomb_is_refused_before_decoding(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession], side: int
) -> None:
    client = await as_role("employee")
    csrf, token = await _form(client)
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, format="PNG")  # megapixels in a few kB
    answer = await client.post(
        "/support/bug",
        data={"csrftoken": csrf, "client_token": token, **GOOD},
        files={"screenshot": ("bomb.png", buf.getvalue(), "image/png")},
    )
    assert answer.status_code == 422
    assert "at most 25 megapixels" in answer.text
    assert await _bugs(sessionmaker) == 0


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_every_format_loses_exif_icc_and_comments(tmp_path: Path, fmt: str) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", tmp_path)
    image = Image.new("RGB", (24, 16), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    buf = io.BytesIO()
    extra: dict[str, Any] = {"exif": exif.tobytes(), "icc_profile": FAKE_ICC}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "secret-comment")
        extra["pnginfo"] = info
    elif fmt == "JPEG":
        extra["comment"] = b"secret-comment"
    else:
        extra["xmp"] = b"<x:xmpmeta>secret-comment</x:xmpmeta>"
    image.save(buf, format=fmt, **extra)
    assert b"SecretCam" in buf.getvalue() or fmt == "PNG"
    stored = uploads.open_image(settings, uploads.store_image(settings, buf.getvalue()))
    raw = stored.path.read_bytes()
    for secret in (b"SecretCam", b"FAKE-ICC", b"secret-comment"):
        assert secret not in raw
    with Image.open(stored.path) as clean:
        assert clean.size == (24, 16)
        assert not clean.info.get("icc_profile") and not clean.info.get("exif")
        assert not {k for k in clean.info if k.lower() in ("comment", "xmp", "xml:com.adobe.xmp")}


async def test_unwritable_upload_directory(
    as_role: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    app: Any,
    client: httpx.AsyncClient,
) -> None:
    """/readyz says why, a report with a screenshot gets a clear 503 and nothing is
    stored, a report without one still goes through."""
    if os.geteuid() == 0:
        # root writes anywhere: point the directory at a path below a regular file.
        blocker = settings.var_dir / "not-a-directory"
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_text("x")
        broken = settings.model_copy(update={"upload_dir": blocker / "uploads"})
    else:
        locked = settings.var_dir / "locked"
        locked.mkdir(parents=True)
        locked.chmod(0o500)
        broken = settings.model_copy(update={"upload_dir": locked})
    app.state.settings = broken
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and "upload directory" in ready.json()["uploads"]
    employee = await as_role("employee")
    csrf, token = await _form(employee)
    answer = await employee.post(
        "/support/bug",
        data={"csrftoken": csrf, "client_token": token, **GOOD},
        files={"screenshot": ("shot.png", png_bytes(), "image/png")},
    )
    assert answer.status_code == 503
    assert "Screenshots cannot be stored right now" in answer.text
    assert await _bugs(sessionmaker) == 0
    csrf, token = await _form(employee)
    answer = await employee.post(
        "/support/bug", data={"csrftoken": csrf, "client_token": token, **GOOD}
    )
    assert answer.status_code == 303 and await _bugs(sessionmaker) == 1


async def test_a_failed_request_leaves_no_file_and_orphans_are_purged(
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    from devops_center.support import service as support

    report = support.BugReport("Broken", "a", "b", "c", screenshot=png_bytes())

    async def request_that_fails_after_filing() -> None:
        async with sessionmaker() as s, s.begin():
            await support.file_bug(
                s,
                settings=settings,
                reporter_id=people["employee"].id,
                report=report,
                source="web",
            )
            raise RuntimeError("the request failed after filing")  # the commit never comes

    with pytest.raises(RuntimeError):
        await request_that_fails_after_filing()
    assert uploads.stored_files(settings, older_than=-1) == []  # gone with the rollback
    # A crash between storing and committing leaves a file: the hourly purge takes it.
    (settings.uploads_path / "crashed-request-00000001.png").write_bytes(png_bytes())
    async with sessionmaker() as s, s.begin():
        kept = await support.file_bug(
            s, settings=settings, reporter_id=people["employee"].id, report=report, source="web"
        )
    old = time.time() - 2 * uploads.ORPHAN_AFTER
    for name in uploads.stored_files(settings, older_than=-1):
        os.utime(settings.uploads_path / name, (old, old))
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(s, messages.PurgeOrphanUploads())
    await worker.drain(settings, sessionmaker, kinds=[messages.PurgeOrphanUploads.kind])
    assert uploads.stored_files(settings, older_than=-1) == [kept.bug.screenshot_key]


async def test_invalid_report_with_image_stores_no_file(
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    from devops_center.errors import Invalid
    from devops_center.support import service as support

    report = support.BugReport("", "a", "b", "c", screenshot=png_bytes())
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Invalid):
            await support.file_bug(
                s,
                settings=settings,
                reporter_id=people["employee"].id,
                report=report,
                source="web",
            )
    assert uploads.stored_files(settings, older_than=-1) == []


async def test_filing_without_an_image_takes_seven_statements(
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    """The bot's Submit step is the costliest reply of a dialog (bench/bot.py): the
    reporter's lock, the token's holder, the rate limit, the bug and its two jobs (each
    written and returned in one statement; no savepoint, no optimistic checks without an
    image to decode). A repeat is still answered as the same bug."""
    from devops_center.support import service as support

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    report = support.BugReport("Broken", "a", "b", "c", client_token=random_token())
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with sessionmaker() as s, s.begin():
            filed = await support.file_bug(
                s, settings=settings, reporter_id=people["employee"].id, report=report, source="web"
            )
            first = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert first <= 7, statements
    assert "SAVEPOINT" not in statements
    async with sessionmaker() as s, s.begin():
        again = await support.file_bug(
            s, settings=settings, reporter_id=people["employee"].id, report=report, source="web"
        )
    assert again.repeated and again.bug.id == filed.bug.id
    assert await _bugs(sessionmaker) == 1
    async with sessionmaker() as s:
        kinds = set((await s.scalars(select(Job.kind))).all())
    assert {messages.CreateGithubIssue.kind, messages.IndexBrainDocument.kind} <= kinds
