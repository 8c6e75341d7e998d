"""Pieces under the bot: KPIs (demo source), the kv store it keeps dialogs in, text splitting."""

from __future__ import annotations

from datetime import timedelta

from devops_center import cache
from devops_center.config import KpiConfig
from devops_center.digest import service as digest
from devops_center.integrations.telegram.text import split_html
from devops_center.kpis import demo as demo_kpi
from devops_center.kpis import service as kpis


async def test_cache_get_sees_put_in_the_same_session(session) -> None:
    """Regression: the read used session.get(), which returned the stale identity-map row."""
    async with session.begin():
        hour = timedelta(hours=1)
        await cache.put(session, key="k", value={"n": 1}, ttl=hour)
        assert await cache.get(session, key="k") == {"n": 1}
        await cache.put(session, key="k", value={"n": 2}, ttl=hour)
        assert await cache.get(session, key="k") == {"n": 2}
        await cache.put(session, key="gone", value=1, ttl=timedelta(seconds=-1))
        assert await cache.get(session, key="gone") is None
        await cache.drop(session, key="k")
        assert await cache.get(session, key="k") is None


async def test_demo_kpi_and_failing_kpis(settings, session) -> None:
    with_kpi = demo_kpi.with_demo_kpi(settings.model_copy(update={"kpis": []}))
    assert (with_kpi.var_dir / "demo_shifts.sqlite3").exists()
    broken = KpiConfig(
        name="Broken", sql="SELECT 1", dsn=f"sqlite:///{settings.var_dir}/missing.db"
    )
    ours = KpiConfig(name="Users", name_ru="Пользователи", sql="SELECT count(*) FROM users")
    config = with_kpi.model_copy(update={"kpis": [*with_kpi.kpis, broken, ours]})
    async with session.begin():
        values = await kpis.evaluate(session, settings=config)
        text = await digest.morning_text(session, settings=config, lang="ru")
    assert [(v.name, v.value) for v in values] == [
        ("Active shifts", 5.0),
        ("Broken", None),
        ("Users", 0.0),
    ]
    assert values[1].error and values[1].display() == "n/a"
    assert "• Активных смен: 5\n• Broken: n/a\n• Пользователи: 0" in text


def test_split_text_keeps_parts_under_the_limit() -> None:
    text = ("line " * 30 + "\n") * 200
    parts = split_html(text, 4096)
    assert all(len(p) <= 4096 for p in parts) and len(parts) > 1
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )
    assert split_html("x" * 5000, 4096) == ["x" * 4096, "x" * 904]
    assert split_html("") == [""]


def test_system_lines_say_why_a_system_is_not_counted_online() -> None:
    from types import SimpleNamespace

    systems = [
        SimpleNamespace(name="web", state="up", response_ms=5.0, message="HTTP 200"),
        SimpleNamespace(name="bot", state="unknown", response_ms=None, message=None),
        SimpleNamespace(name="api", state="pending", response_ms=None, message=None),
    ]
    en = digest.render_systems(systems, "en")
    assert en == [
        "🖥 System status: 1 of 3 online",
        "🟢 web · 5 ms",
        "⚪ bot · not checked yet",
        "🟡 api · pending",
    ]
    ru = digest.render_systems(systems, "ru")
    assert ru[2:] == ["⚪ bot · ещё не проверено", "🟡 api · проверяется"]


def test_a_down_check_shows_its_error_not_a_response_time() -> None:
    from types import SimpleNamespace

    systems = [SimpleNamespace(name="api", state="down", response_ms=512.0, message="HTTP 500 <x>")]
    line = digest.render_systems(systems, "en")[1]
    assert "ms" not in line and "HTTP 500 &lt;x&gt;" in line
