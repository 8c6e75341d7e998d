"""Support services: screenshot storage (shared with the bot), FAQ search, votes, rate limit."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.errors import Invalid, NotFound, RateLimited
from devops_center.i18n import gettext
from devops_center.support import search, uploads
from devops_center.support import service as support
from devops_center.support.models import FaqEntry
from devops_center.users.models import User
from tests.conftest import make_settings


def image_bytes(fmt: str, mode: str = "RGB", size: tuple[int, int] = (20, 10)) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    Image.new(mode, size, 128).save(buf, format=fmt, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_store_image_keeps_pixels_and_drops_metadata(tmp_path: Path, fmt: str, ext: str) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", tmp_path)
    key = uploads.store_image(settings, image_bytes(fmt))
    assert key.endswith(f".{ext}") and len(key) > 30
    stored = uploads.open_image(settings, key)
    assert stored.content_type == f"image/{'jpeg' if ext == 'jpg' else ext}"
    with Image.open(stored.path) as image:
        assert image.size == (20, 10)
        assert image.getexif().get(0x010F) is None
    assert b"SecretCam" not in stored.path.read_bytes()


def test_store_image_refuses_with_a_translatable_message(tmp_path: Path) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", tmp_path, max_upload_mb=0.01)
    with pytest.raises(uploads.UploadInvalid) as too_big:
        uploads.store_image(settings, image_bytes("PNG", size=(300, 300)) + b"\0" * 20_000)
    assert isinstance(too_big.value, Invalid)
    ru = gettext("ru", too_big.value.message, **too_big.value.params)
    assert ru == "Скриншот слишком большой (не больше 0.01 МБ)"
    for data in (b"", b"GIF89a" + b"\0" * 20, b"%PDF-1.4", image_bytes("GIF", mode="P")):
        with pytest.raises(uploads.UploadInvalid):
            uploads.store_image(settings, data)
    assert not settings.uploads_path.exists() or not any(settings.uploads_path.iterdir())


def test_open_image_refuses_odd_keys(tmp_path: Path) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", tmp_path)
    for key in ("../secret_key", "x.png", "", "a" * 20 + ".svg", "/etc/passwd"):
        with pytest.raises(NotFound):
            uploads.open_image(settings, key)


def test_fts5_query_quotes_everything() -> None:
    assert search.fts5_query('NEAR("a" OR b*) -c:d') == '"near"* "a"* "or"* "b"* NOT "c"* NOT "d"*'
    assert search.fts5_query("смены часов") == '"смен"* "час"*'
    assert search.fts5_query("  ") is None
    assert search.fts5_query("pass -admin -") == '"pass"* NOT "admin"*'
    assert search.fts5_query("-admin") is None


async def test_search_ranks_and_survives_odd_queries(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as s, s.begin():
        s.add_all(
            [
                FaqEntry(
                    category="A", question="Password reset", answer="Ask an admin.", language="en"
                ),
                FaqEntry(
                    category="A",
                    question="Language",
                    answer="Your password is safe.",
                    language="en",
                ),
                FaqEntry(category="B", question="Пароль", answer="Сбросьте пароль.", language="ru"),
            ]
        )
    async with sessionmaker() as s:
        hits = await support.search_faq(s, query="password", language="en")
        assert [e.question for e in hits] == ["Password reset", "Language"]  # question first
        assert [e.question for e in await support.search_faq(s, query="пароли")] == ["Пароль"]
        excluded = await support.search_faq(s, query="password -admin", language="en")
        assert [e.question for e in excluded] == ["Language"]  # web-search minus, both DBs
        for odd in ['"', "'", "*", "NEAR(", "a OR", "-", "():", "%_", "x" * 600, "\x00"]:
            await support.search_faq(s, query=odd)  # never an error


async def test_rate_limit_shared_by_web_and_bot(
    sessionmaker: async_sessionmaker[AsyncSession], people: dict[str, User]
) -> None:
    uid = people["employee"].id
    report = support.BugReport(title="Bot bug", what_doing="a", expected="b", actual="c")
    limited = make_settings("sqlite+aiosqlite:///unused", Path("/tmp"), bug_rate_limit_per_hour=2)
    async with sessionmaker() as s, s.begin():
        for _ in range(2):
            await support.file_bug(
                s, settings=limited, reporter_id=uid, report=report, source="telegram"
            )
    async with sessionmaker() as s:
        with pytest.raises(RateLimited) as exc:
            await support.check_bug_rate_limit(s, user_id=uid, per_hour=2)
        assert exc.value.params == {"n": 2}


async def test_vote_once_per_user(
    sessionmaker: async_sessionmaker[AsyncSession], people: dict[str, User]
) -> None:
    async with sessionmaker() as s, s.begin():
        entry = FaqEntry(category="A", question="Q", answer="A", language="en")
        s.add(entry)
    for helpful in (True, True, False):
        async with sessionmaker() as s, s.begin():
            await support.vote_faq(
                s, faq_id=entry.id, user_id=people["employee"].id, helpful=helpful
            )
    async with sessionmaker() as s, s.begin():
        await support.vote_faq(s, faq_id=entry.id, user_id=people["owner"].id, helpful=True)
    async with sessionmaker() as s:
        row = (await s.execute(select(FaqEntry))).scalar_one()
        assert (row.helpful_count, row.not_helpful_count) == (1, 1)


async def test_benchmark_smoke(tmp_path: Path) -> None:
    """bench/faq_search.py runs end to end (tiny sizes; `make bench` runs the real one)."""
    from bench import faq_search

    url = f"sqlite+aiosqlite:///{tmp_path}/bench.sqlite3"
    result = await faq_search._run(url, tmp_path / "var", entries=300, queries=20)
    assert {"endpoint_p50", "endpoint_p95", "sql_p50", "sql_p95", "hit_rate"} <= set(result)
    assert result["hit_rate"] > 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_demo_faq_is_searchable(settings: Any, sessionmaker: Any) -> None:
    from devops_center.cli import demo_data

    await demo_data.load(settings)
    async with sessionmaker() as s:
        ru = await support.search_faq(s, query="пароль", language="ru")
        en = await support.search_faq(s, query="password", language="en")
    assert ru and all(e.language == "ru" for e in ru)
    assert en and all("password" in (e.question + e.answer).lower() for e in en)
