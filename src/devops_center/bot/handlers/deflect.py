"""Before a bug is written in full: answers and known issues for its title.

Shown once, after the first answer of /bug (the title), and recorded with the dialog's
token, so the deflection rate knows whether the report was still sent.
"""

from __future__ import annotations

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.ui import esc
from devops_center.brain import answers, presenter
from devops_center.config import Settings
from devops_center.i18n import gettext
from devops_center.users.models import User


def form_token(user: User, nonce: str) -> str:
    """The bug's ``client_token`` when this dialog is submitted (see bug.submit)."""
    return f"tg:{user.id}:{nonce}"


async def suggest(
    message: Message,
    session: AsyncSession,
    user: User,
    lang: str,
    settings: Settings,
    title: str,
    nonce: str,
) -> None:
    found = await answers.ask(
        session,
        title,
        language=lang,
        channel="bot_bug",
        user_id=user.id,
        limit=2,
        issues=True,
        form_token=form_token(user, nonce),
        model=settings.embedding_model,
    )
    lines: list[str] = []
    if found.best is not None:
        best = found.best
        answer = best.answer if len(best.answer) <= 600 else best.answer[:599] + "…"
        lines += [f"❓ <b>{esc(best.question)}</b>", esc(answer)]
    lines += [f"• {esc(presenter.issue_line(i, lang))}" for i in found.issues]
    if not lines:
        return
    head = gettext(lang, "Before you go on, perhaps this is it:")
    tail = gettext(lang, "If not, just answer the next step (or /cancel).")
    await message.answer("\n".join([head, "", *lines, "", tail]))
