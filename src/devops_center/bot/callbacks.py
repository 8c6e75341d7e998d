"""Every inline button's payload: typed aiogram ``CallbackData`` factories.

A handler filters with ``Factory.filter(...)`` and receives the parsed, validated value
as ``callback_data``. A payload that does not unpack (forged, from an older version of
the bot, a field out of range) matches no handler and reaches the fallback router,
which answers "this button is no longer active": it never raises. Telegram allows 64
bytes of callback data, so prefixes and field values stay short.
"""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

Priority = Literal["critical", "high", "medium", "low"]


class Menu(CallbackData, prefix="menu"):
    """The support menu's buttons (and Home from any page)."""

    to: Literal["home", "bug", "faq", "mybugs", "web"]


class BugDialogCb(CallbackData, prefix="bug"):
    """A button of one /bug dialog; ``nonce`` tells this dialog from an older one."""

    action: Literal["skip", "prio", "submit", "edit", "field", "cancel"]
    nonce: str = Field(max_length=16)
    value: str = Field(default="", max_length=12)  # a priority or a field name


class FaqCb(CallbackData, prefix="faq"):
    """FAQ navigation: a topic (by position), a question, a vote; back to the topics."""

    action: Literal["topics", "topic", "question", "vote"]
    id: int = Field(default=0, ge=0, lt=2**31)
    helpful: bool = False


class MyBugsCb(CallbackData, prefix="mb"):
    """/mybugs: a page (by its first row), a bug's detail, adding information to it,
    closing it (asked, then confirmed)."""

    action: Literal["page", "bug", "add", "close", "closed"]
    offset: int = Field(default=0, ge=0, lt=2**31)
    bug: int = Field(default=0, ge=0, lt=2**31)


class LanguageCb(CallbackData, prefix="lang"):
    code: Literal["ru", "en"]


class AskCb(CallbackData, prefix="ask"):
    """ "Did this help?" under an answer to a free-text question (``q``: the question's
    row); ``no`` starts /bug with the question as its title."""

    action: Literal["yes", "no"]
    q: int = Field(ge=0, lt=2**31)
