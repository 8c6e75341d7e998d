"""/mybugs: the user's reports with status and GitHub link, five per page."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.bot.common import (
    RouterSpec,
    esc,
    issue_url,
    keyboard,
    priority_label,
    status_label,
)
from devops_center.config import Settings
from devops_center.i18n import format_datetime, gettext
from devops_center.support import service as support
from devops_center.users.models import User

router = RouterSpec("mybugs")

PAGE = 5


async def page(
    session: AsyncSession, user: User, lang: str, settings: Settings, offset: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    bugs, total = await support.my_bugs(session, user_id=user.id, offset=offset, limit=PAGE)
    if total == 0:
        return gettext(lang, "You have not reported any bugs yet. Use /bug to report one."), None
    lines = [
        gettext(
            lang,
            "Your reports %(first)s–%(last)s of %(total)s:",
            first=offset + 1,
            last=offset + len(bugs),
            total=total,
        )
    ]
    for bug in bugs:
        when = format_datetime(bug.created_at, lang, settings.tz, "short")
        line = (
            f"\n<b>#{bug.id}</b> {esc(bug.title)}\n"
            f"{status_label(bug.status, lang)} · {priority_label(bug.priority, lang)} · {esc(when)}"
        )
        if bug.github_issue_number:
            url = issue_url(settings, bug.github_issue_number)
            ref = f"GitHub #{bug.github_issue_number}"
            line += f' · <a href="{esc(url)}">{ref}</a>' if url else f" · {ref}"
        lines.append(line)
    buttons: list[tuple[str, str]] = []
    if offset > 0:
        buttons.append(("◀", f"mb:{max(0, offset - PAGE)}"))
    if offset + PAGE < total:
        buttons.append(("▶", f"mb:{offset + PAGE}"))
    return "\n".join(lines), keyboard([buttons]) if buttons else None


@router.message(Command("mybugs"))
async def mybugs(
    message: Message, session: AsyncSession, user: User | None, lang: str, settings: Settings
) -> None:
    if user is None:
        await message.answer(gettext(lang, "Please write to me in a private chat."))
        return
    text, markup = await page(session, user, lang, settings, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(F.data == "menu:mybugs")
async def mybugs_menu(
    callback: CallbackQuery,
    session: AsyncSession,
    user: User | None,
    lang: str,
    settings: Settings,
) -> None:
    await callback.answer()
    if user is not None and isinstance(callback.message, Message):
        text, markup = await page(session, user, lang, settings, 0)
        await callback.message.answer(text, reply_markup=markup)


@router.callback_query(F.data.startswith("mb:"))
async def turn_page(
    callback: CallbackQuery,
    session: AsyncSession,
    user: User | None,
    lang: str,
    settings: Settings,
) -> None:
    await callback.answer()
    try:
        offset = max(0, int((callback.data or "").split(":")[1]))
    except ValueError:
        return
    if user is not None and isinstance(callback.message, Message):
        text, markup = await page(session, user, lang, settings, offset)
        await callback.message.edit_text(text, reply_markup=markup)
