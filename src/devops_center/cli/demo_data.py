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
import devops_center.deployments.demo as deployments_demo
from devops_center.config import Settings
from devops_center.db import make_engine, make_sessionmaker, session_scope, utcnow
from devops_center.github import demo as github_demo
from devops_center.outbox import messages as job_messages
from devops_center.outbox import service as outbox
from devops_center.status import demo as status_demo
from devops_center.support.models import BugLog, FaqEntry, FaqTranslation
from devops_center.users import service as users
from devops_center.users.models import User

DEMO_USERS = [
    ("employee", "employee@demo.local", "demo-employee", "Anna Employee", "ru"),
    ("manager", "manager@demo.local", "demo-manager", "Boris Manager", "ru"),
    ("owner", "owner@demo.local", "demo-owner", "Olga Owner", "ru"),
    ("superadmin", "admin@demo.local", "demo-admin", "Sam Superadmin", "en"),
]

SERVICES = ["staffprobot-web", "staffprobot-bot"]

FAQ: dict[str, list[tuple[str, str, list[tuple[str, str]]]]] = {
    "ru": [
        (
            "Аккаунт",
            "account",
            [
                (
                    "Как войти в систему?",
                    "Откройте страницу входа и введите email и пароль. "
                    "В Telegram отправьте боту /web — он пришлёт ссылку для входа.",
                ),
                (
                    "Я забыл пароль. Что делать?",
                    "Попросите администратора сбросить пароль "
                    "или войдите через Telegram командой /web.",
                ),
                (
                    "Как сменить язык интерфейса?",
                    "Нажмите RU или EN в верхнем меню; в боте — команда /language.",
                ),
                (
                    "Как привязать Telegram к аккаунту?",
                    "Отправьте боту /start: он найдёт вас по Telegram id и создаст профиль.",
                ),
                (
                    "Кто видит мои отчёты об ошибках?",
                    "Только вы и администраторы (владелец и суперадмин).",
                ),
                (
                    "Можно ли удалить аккаунт?",
                    "Да, напишите администратору: аккаунт и все ваши отчёты будут удалены.",
                ),
            ],
        ),
        (
            "Смены",
            "shifts",
            [
                (
                    "Как открыть смену?",
                    "В приложении нажмите «Начать смену» и подтвердите геопозицию.",
                ),
                (
                    "Смена не закрывается. Что делать?",
                    "Проверьте интернет и обновите страницу. "
                    "Если не помогло — сообщите об ошибке через /bug.",
                ),
                (
                    "Как поменяться сменой с коллегой?",
                    "Откройте смену, нажмите «Предложить обмен» и выберите коллегу.",
                ),
                (
                    "Где посмотреть график на неделю?",
                    "Раздел «График» в приложении показывает все ваши смены.",
                ),
                (
                    "Почему не засчитались часы?",
                    "Часы считаются после закрытия смены менеджером. Обычно это занимает до суток.",
                ),
                ("Как отметить опоздание?", "Менеджер отмечает опоздание в карточке смены."),
            ],
        ),
        (
            "Ошибки",
            "bugs",
            [
                (
                    "Как сообщить об ошибке?",
                    "На сайте — «Сообщить об ошибке», в Telegram — "
                    "команда /bug. Опишите, что делали, что ожидали и что получили.",
                ),
                (
                    "Что происходит с моим отчётом?",
                    "Он становится задачей в GitHub. Вы получите "
                    "уведомление, когда статус изменится.",
                ),
                (
                    "Какой приоритет выбрать?",
                    "Критический — ничего не работает; высокий — "
                    "важная функция сломана; средний — неудобно; низкий — мелочь.",
                ),
                ("Можно ли приложить скриншот?", "Да: PNG, JPEG или WebP до 5 МБ."),
                ("Где мои отчёты?", "Раздел «Мои ошибки» на сайте или /mybugs в боте."),
                ("Сколько отчётов можно отправить?", "До 10 в час, чтобы защититься от спама."),
            ],
        ),
        (
            "Оплата",
            "billing",
            [
                ("Когда приходит зарплата?", "Выплаты — 5 и 20 числа каждого месяца."),
                ("Где посмотреть начисления?", "Раздел «Выплаты» в профиле."),
                (
                    "Почему сумма отличается?",
                    "Проверьте закрытые смены и штрафы в разделе «Выплаты»; вопросы — менеджеру.",
                ),
                (
                    "Как изменить реквизиты?",
                    "В профиле, раздел «Реквизиты». Изменения проверяет бухгалтерия.",
                ),
                ("Есть ли премии?", "Да, менеджер может начислить премию за смену."),
                (
                    "Как получить справку о доходах?",
                    "Запросите её у менеджера — она придёт на email.",
                ),
            ],
        ),
    ],
    "en": [
        (
            "Account",
            "account",
            [
                (
                    "How do I sign in?",
                    "Open the sign-in page and enter your email and password. "
                    "In Telegram, send /web to the bot for a sign-in link.",
                ),
                (
                    "I forgot my password. What now?",
                    "Ask an admin to reset it, or sign in from Telegram with /web.",
                ),
                (
                    "How do I change the language?",
                    "Press RU or EN in the top menu; in the bot use /language.",
                ),
                (
                    "How do I link Telegram to my account?",
                    "Send /start to the bot: it finds you by "
                    "your Telegram id and creates your profile.",
                ),
                ("Who sees my bug reports?", "Only you and the admins (owner and superadmin)."),
                (
                    "Can I delete my account?",
                    "Yes, ask an admin: your account and all your reports are deleted.",
                ),
            ],
        ),
        (
            "Shifts",
            "shifts",
            [
                (
                    "How do I start a shift?",
                    "Press “Start shift” in the app and confirm your location.",
                ),
                (
                    "My shift will not close. What can I do?",
                    "Check your connection and reload. If it persists, report a bug with /bug.",
                ),
                (
                    "How do I swap a shift with a colleague?",
                    "Open the shift, press “Offer swap” and pick a colleague.",
                ),
                (
                    "Where is my weekly schedule?",
                    "The Schedule section of the app shows all your shifts.",
                ),
                (
                    "Why were my hours not counted?",
                    "Hours count once a manager closes the shift, usually within a day.",
                ),
                ("How is lateness recorded?", "The manager marks it on the shift card."),
            ],
        ),
        (
            "Bugs",
            "bugs",
            [
                (
                    "How do I report a bug?",
                    "On the web use “Report a bug”; in Telegram send "
                    "/bug. Say what you were doing, what you expected and what happened.",
                ),
                (
                    "What happens to my report?",
                    "It becomes a GitHub issue. You are told when its status changes.",
                ),
                (
                    "Which priority should I pick?",
                    "Critical: nothing works; high: an important "
                    "feature is broken; medium: inconvenient; low: cosmetic.",
                ),
                ("Can I attach a screenshot?", "Yes: PNG, JPEG or WebP up to 5 MB."),
                ("Where are my reports?", "“My bugs” on the web or /mybugs in the bot."),
                ("How many reports can I send?", "Up to 10 an hour, to keep spam out."),
            ],
        ),
        (
            "Billing",
            "billing",
            [
                ("When am I paid?", "Payouts are on the 5th and the 20th of each month."),
                ("Where can I see my earnings?", "The Payouts section of your profile."),
                (
                    "Why is the amount different?",
                    "Check closed shifts and penalties under "
                    "Payouts; ask your manager about the rest.",
                ),
                (
                    "How do I change my bank details?",
                    "In your profile under Bank details; accounting checks every change.",
                ),
                ("Are there bonuses?", "Yes, a manager can add a bonus to a shift."),
                ("How do I get an income statement?", "Ask your manager; it arrives by email."),
            ],
        ),
    ],
}

BUG_TITLES = [
    ("Не закрывается смена", "Shift does not close"),
    ("Ошибка 500 при открытии графика", "Error 500 when opening the schedule"),
    ("Бот не отвечает на /start", "Bot does not answer /start"),
    ("Неверная сумма выплаты", "Wrong payout amount"),
    ("Не загружается аватар", "Avatar upload fails"),
    ("Дублируются уведомления", "Notifications are duplicated"),
    ("Кнопка «Обмен» не активна", "Swap button is disabled"),
    ("Медленно грузится отчёт", "Report loads slowly"),
    ("Опечатка на странице профиля", "Typo on the profile page"),
    ("Не приходит код подтверждения", "Confirmation code never arrives"),
]


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
            }
        )
    await session.execute(insert(BugLog), rows)


__all__ = ["DEMO_USERS", "load", "populate"]
