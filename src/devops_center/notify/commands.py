"""The bot's command menu: what every user sees, and what an owner or superadmin sees
in their own chat. Set at the bot's start for everyone (both languages) and, when a
user's role or language changes, for that chat by the ``notify.chat_commands`` job."""

from __future__ import annotations

from devops_center.i18n import gettext, lazy

USER_COMMANDS = (
    ("start", lazy("Start and show the menu")),
    ("support", lazy("Support menu")),
    ("bug", lazy("Report a bug")),
    ("faq", lazy("Frequently asked questions")),
    ("mybugs", lazy("My bug reports")),
    ("web", lazy("Sign-in link for the web hub")),
    ("language", lazy("Change the language")),
    ("cancel", lazy("Leave the current dialog")),
)
ADMIN_COMMANDS = (
    ("morning", lazy("Morning overview")),
    ("devops", lazy("DORA metrics and deployments")),
    ("digest", lazy("Daily digest on/off")),
)


def commands(lang: str, *, admin: bool = False) -> list[dict[str, str]]:
    """``BotCommand`` objects as the Bot API takes them, in ``lang``."""
    pairs = USER_COMMANDS + (ADMIN_COMMANDS if admin else ())
    return [{"command": c, "description": gettext(lang, d)} for c, d in pairs]
