"""/morning and /devops: the brief's sample layouts for admins, a polite refusal for others."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from devops_center.config import KpiConfig
from devops_center.db import utcnow
from devops_center.deployments.models import Deployment
from devops_center.github.models import GithubIssue
from devops_center.status.models import CheckState
from devops_center.support.models import BugLog
from devops_center.users import service as users
from tests.bot.standin import TgUser


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {
        "github_repo": "acme/staffprobot-app",
        "product_name": "StaffProBot",
        "kpis": [
            KpiConfig(name="Active shifts", name_ru="Активных смен", sql="SELECT 5"),
            KpiConfig(name="Broken KPI", sql="SELECT * FROM no_such_table"),
        ],
    }


async def sample_data(sessionmaker) -> None:
    """The brief's sample: 30 days, 15 deployments of which 3 failed; 8 open issues, 2 critical."""
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        for i in range(15):
            started = now - timedelta(days=2 * i, hours=2, minutes=5)
            s.add(
                Deployment(
                    commit_sha=f"{i:040x}",
                    started_at=started,
                    completed_at=started + timedelta(minutes=5),
                    status="failed" if i in (3, 7, 11) else "success",
                    duration_seconds=300,
                    service="staffprobot",
                )
            )
        for n in range(8):
            s.add(
                GithubIssue(
                    repo="acme/staffprobot-app",
                    number=n + 1,
                    title=f"issue {n}",
                    state="open",
                    is_bug=True,
                    is_critical=n < 2,
                )
            )
        s.add(GithubIssue(repo="acme/staffprobot-app", number=99, title="old", state="closed"))
        reporter = await users.create_user(s, name="R", email="r@test.local")
        for p in ("critical", "critical", "high"):
            s.add(
                BugLog(
                    user_id=reporter.id,
                    title="t",
                    what_doing="a",
                    expected="b",
                    actual="c",
                    priority=p,
                )
            )
        # As the status worker leaves them: probed just now, all three up.
        for name, ms in (("web", 42.0), ("database", 3.0), ("bot", None)):
            s.add(CheckState(check_name=name, state="up", last_response_ms=ms, last_checked_at=now))


async def test_devops_prints_the_brief_sample_in_russian(bot, boss: TgUser, sessionmaker) -> None:
    await sample_data(sessionmaker)
    reply = await boss.ask("/devops", "DevOps")
    assert reply.text.splitlines() == [
        "🔥 DevOps панель StaffProBot",
        "📊 DORA Metrics (30 дней):",
        "🚀 Deployment Frequency: 0.5/день",
        "❌ Change Failure Rate: 20%",
        "📈 Статистика деплоев:",
        "• Всего: 15",
        "• Успешных: 12",
        "• Провалов: 3",
        "🐛 GitHub Issues:",
        "• Открытых: 8",
        "• Критических: 2",
    ]


async def test_morning_in_both_languages(bot, boss: TgUser, sessionmaker) -> None:
    await sample_data(sessionmaker)
    reply = await boss.ask("/morning", "Утренний обзор")
    lines = reply.text.splitlines()
    assert lines[:5] == [
        "🌅 Утренний обзор · StaffProBot",
        "• Активных смен: 5",
        "• Broken KPI: n/a",
        "• Критических багов: 2",
        "• Последний деплой: 2 часа назад",
    ]
    assert "🖥 Статус систем: все онлайн (3)" in lines
    english = TgUser(boss.standin, 777000002, lang="en", first_name="Sam")
    async with sessionmaker() as s, s.begin():
        await users.create_user(s, name="Sam", role="owner", telegram_id=english.id)
    reply = await english.ask("/morning", "Morning overview")
    assert "• Active shifts: 5" in reply.text
    assert "• Last deployment: 2 hours ago" in reply.text


async def test_employee_gets_a_polite_refusal_and_no_data(bot, ann: TgUser, sessionmaker) -> None:
    await sample_data(sessionmaker)
    await ann.ask("/start", "Hello")
    for command in ("/devops", "/morning", "/digest"):
        reply = await ann.ask(command, "only for the team's owners")
        assert not any(ch.isdigit() for ch in reply.text)
    help_text = (await ann.ask("/help", "/bug")).text
    assert "/devops" not in help_text


async def test_superadmin_digest_toggle_and_devops_without_data(
    bot, boss: TgUser, sessionmaker
) -> None:
    await boss.ask("/start", "Здравствуйте, Ольга!")
    async with sessionmaker() as s:
        user = await users.get_by_telegram_id(s, telegram_id=boss.id)
    assert user.role == "superadmin" and user.language == "ru" and user.digest_opt_in
    await boss.ask("/digest", "Утренняя сводка выключена")
    await bot.settle()
    async with sessionmaker() as s:
        assert not (await users.get_by_telegram_id(s, telegram_id=boss.id)).digest_opt_in
    await boss.ask("/digest", "каждый день в 09:00 (UTC)")
    reply = await boss.ask("/devops", "DevOps")
    assert "• Всего: 0" in reply.text
    assert "Change Failure Rate: нет данных" in reply.text
