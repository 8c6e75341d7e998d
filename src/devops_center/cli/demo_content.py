"""The words of the demo: FAQ entries in Russian and English (categories with their
slugs, question and answer pairs) and bug titles in both languages, for ``dcc demo``."""

from __future__ import annotations

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
