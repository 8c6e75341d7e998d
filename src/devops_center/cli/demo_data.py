"""Demo data for ``dcc demo``: loaded once, deterministic, bulk-inserted.

90 days of deployments (1–4 a day, ~15 % failed, a few rollbacks) with their commits,
the incidents they caused, ~60 bugs of every priority and status, and FAQ entries in
Russian and English.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

import devops_center.architecture.demo as architecture_demo
import devops_center.changelog.demo as changelog_demo
import devops_center.deployments.demo as deployments_demo
from devops_center.brain.models import BrainQuestion
from devops_center.cli.demo_content import BUG_TITLES, FAQ
from devops_center.config import Settings
from devops_center.db import make_engine, make_sessionmaker, session_scope, utcnow
from devops_center.github import demo as github_demo
from devops_center.outbox import messages as job_messages
from devops_center.outbox import service as outbox
from devops_center.status import demo as status_demo
from devops_center.support.models import BugComment, BugLog, FaqEntry, FaqTranslation
from devops_center.users import service as users
from devops_center.users.models import User

DEMO_USERS = [
    ("employee", "employee@demo.local", "demo-employee", "Anna Employee", "ru"),
    ("manager", "manager@demo.local", "demo-manager", "Boris Manager", "ru"),
    ("owner", "owner@demo.local", "demo-owner", "Olga Owner", "ru"),
    ("superadmin", "admin@demo.local", "demo-admin", "Sam Superadmin", "en"),
]

SERVICES = ["staffprobot-web", "staffprobot-bot"]


async def _already_loaded(session: AsyncSession) -> bool:
    count = await session.scalar(select(func.count()).select_from(User))
    return bool(count)


async def load(
    settings: Settings, *, now: datetime | None = None
) -> tuple[list[tuple[str, str, str]], bool]:
    """Load the demo data unless the database already has users. Returns (logins, created)."""
    logins = [(role, email, password) for role, email, password, _n, _l in DEMO_USERS]
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            created = not await _already_loaded(session)
            if created:
                await populate(session, now=now or utcnow())
            else:
                await architecture_demo.ensure_scan(session)  # a demo made before the map
        return logins, created
    finally:
        await engine.dispose()


async def populate(session: AsyncSession, *, now: datetime) -> None:
    rng = random.Random(20261128)  # noqa: S311 - demo data
    people: dict[str, User] = {}
    for role, email, password, name, lang in DEMO_USERS:
        people[role] = await users.create_user(
            session, name=name, role=role, email=email, password=password, language=lang
        )
    reporters = [people["employee"], people["manager"]]
    for i in range(6):
        reporters.append(
            await users.create_user(
                session,
                name=f"Демо сотрудник {i + 1}",
                email=f"staff{i + 1}@demo.local",
                password=None,
                language="ru",
            )
        )
    await _faq(session, now=now)
    await deployments_demo.populate_demo(session, now=now)
    await _bugs(session, rng, reporters, people["owner"], now=now)
    await github_demo.demo_data(session, now=now)
    await status_demo.populate(session, now=now)
    await architecture_demo.ensure_scan(session)
    await changelog_demo.populate(
        session, now=now, repo=github_demo.DEMO_REPO, scan_prefix=await _scan_prefix(session)
    )


async def _scan_prefix(session: AsyncSession) -> str:
    """How the demo scan names this package's files ("src/devops_center/" in a checkout)."""
    from devops_center.architecture.models import ArchModule, ArchScan

    path = await session.scalar(
        select(ArchModule.path)
        .join(ArchScan, ArchScan.id == ArchModule.scan_id)
        .where(
            ArchScan.name == architecture_demo.DEMO_SCAN,
            ArchModule.name == "devops_center.config",
        )
    )
    return path.removesuffix("config.py") if path else "src/devops_center/"


async def _faq(session: AsyncSession, *, now: datetime) -> None:
    rows: list[dict[str, Any]] = []
    for lang, categories in FAQ.items():
        for cat_index, (category, _slug, entries) in enumerate(categories):
            for idx, (question, answer) in enumerate(entries):
                rows.append(
                    {
                        "category": category,
                        "question": question,
                        "answer": answer,
                        "language": lang,
                        "order_index": cat_index * 100 + idx,
                        "views_count": (idx * 7 + cat_index * 3) % 40,
                        "helpful_count": (idx * 3 + cat_index) % 9,
                        "not_helpful_count": idx % 3,
                        "created_at": now - timedelta(days=120),
                        "updated_at": now - timedelta(days=30 - idx),
                    }
                )
    await session.execute(insert(FaqEntry), rows)
    # the two languages' lists are translations of each other, entry by entry
    ids = {
        (lang, order): faq_id
        for faq_id, lang, order in await session.execute(
            select(FaqEntry.id, FaqEntry.language, FaqEntry.order_index)
        )
    }
    pairs = [
        {"original_id": ru_id, "translation_id": ids[("en", order)], "created_at": now}
        for (lang, order), ru_id in ids.items()
        if lang == "ru" and ("en", order) in ids
    ]
    if pairs:
        await session.execute(insert(FaqTranslation), pairs)
    # the brain embeds them in the background (the embedded worker of `dcc demo`)
    await outbox.enqueue(session, job_messages.ReindexBrain())


async def _bugs(
    session: AsyncSession,
    rng: random.Random,
    reporters: list[User],
    assignee: User,
    *,
    now: datetime,
) -> None:
    priorities = ["critical", "high", "medium", "low"]
    statuses = ["open", "in_progress", "resolved", "closed"]
    rows = []
    for i in range(60):
        ru_title, en_title = BUG_TITLES[i % len(BUG_TITLES)]
        reporter = reporters[i % len(reporters)]
        title = ru_title if reporter.language == "ru" else en_title
        priority = priorities[i % 4] if i % 7 else "critical"
        status = statuses[(i // 4) % 4] if i > 3 else "open"
        created = now - timedelta(days=rng.uniform(0, 60))
        resolved = (
            created + timedelta(hours=rng.uniform(2, 96))
            if status in ("resolved", "closed")
            else None
        )
        rows.append(
            {
                "user_id": reporter.id,
                "title": f"{title} (#{i + 1})",
                "what_doing": "Открывал раздел и нажимал кнопку."
                if reporter.language == "ru"
                else "I opened the section and pressed the button.",
                "expected": "Что всё сработает."
                if reporter.language == "ru"
                else "That it would work.",
                "actual": "Появилась ошибка."
                if reporter.language == "ru"
                else "An error appeared.",
                "priority": priority,
                "status": status,
                "source": "telegram" if i % 3 == 0 else "web",
                "assigned_to": assignee.id if status == "in_progress" else None,
                "created_at": created,
                "updated_at": resolved or created,
                "resolved_at": resolved,
                # what others see of it among known issues (the reporter's text never)
                "public_summary": en_title if i % 2 == 0 else None,
                "client_token": f"demo-form-{i}" if i < 3 else None,
            }
        )
    await session.execute(insert(BugLog), rows)
    await _conversations(session, reporters[0], assignee)
    await _brain_questions(session, reporters, now=now)


# A conversation on the demo employee's first open bugs: their addition, the team's reply,
# an internal note (only owners see it) and a reply written on GitHub.
DEMO_CONVERSATION = [
    ("reporter", False, None, "Это происходит и на телефоне, и на ноутбуке."),
    ("team", False, None, "Спасибо! Какая версия приложения у вас стоит?"),
    ("team", True, None, "Похоже на сбой CDN на прошлой неделе, проверить логи."),
    ("github", False, "octo-dev", "Fixed in 2.4.1, please update and tell us if it helps."),
]


async def _conversations(session: AsyncSession, reporter: User, team: User) -> None:
    bugs = list(
        await session.scalars(
            select(BugLog)
            .where(BugLog.user_id == reporter.id, BugLog.status.in_(["open", "in_progress"]))
            .order_by(BugLog.created_at)
            .limit(2)
        )
    )
    rows = []
    for bug in bugs:
        for n, (who, internal, login, body) in enumerate(DEMO_CONVERSATION, start=1):
            rows.append(
                {
                    "bug_id": bug.id,
                    "author_id": reporter.id
                    if who == "reporter"
                    else (team.id if who == "team" else None),
                    "from_team": who != "reporter",
                    "internal": internal,
                    "body": body,
                    "source": "github" if who == "github" else "web",
                    "github_login": login,
                    "created_at": bug.created_at + timedelta(hours=n),
                    "updated_at": bug.created_at + timedelta(hours=n),
                }
            )
    if rows:
        await session.execute(insert(BugComment), rows)


# Questions the FAQ could not answer (/admin/faq/gaps) and bug forms with suggestions
# (the deflection rate on /admin/faq); the embedding of a real question is kept when it
# is asked, these group by their words.
DEMO_QUESTIONS = [
    ("en", "Can I bring my dog to work?", 3),
    ("ru", "Где ближайшая парковка?", 2),
    ("ru", "Можно ли работать из дома?", 2),
    ("en", "Is there a gym discount?", 1),
]


async def _brain_questions(session: AsyncSession, reporters: list[User], *, now: datetime) -> None:
    rows = []
    for n, (lang, text, times) in enumerate(DEMO_QUESTIONS):
        for k in range(times):
            at = now - timedelta(days=n + k, hours=k)
            rows.append(
                {
                    "user_id": reporters[(n + k) % len(reporters)].id,
                    "channel": "bot_text" if k % 2 else "faq_page",
                    "language": lang,
                    "text": text,
                    "confident": False,
                    "suggestions": 0,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    for i in range(8):  # eight bug forms with suggestions; three became bugs
        at = now - timedelta(days=i + 1)
        rows.append(
            {
                "user_id": reporters[i % len(reporters)].id,
                "channel": "bug_form" if i % 2 else "bot_bug",
                "language": "ru",
                "text": "Не могу скачать расчётный листок",
                "confident": True,
                "suggestions": 2,
                "form_token": f"demo-form-{i}",
                "created_at": at,
                "updated_at": at,
            }
        )
    await session.execute(insert(BrainQuestion), rows)


__all__ = ["DEMO_USERS", "load", "populate"]
