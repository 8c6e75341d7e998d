"""Small helpers shared by the bot's routers: labels, keyboards, long texts."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, TypeVar

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, TelegramObject
from magic_filter import MagicFilter

from devops_center.digest.labels import issue_url, priority_label, status_label
from devops_center.integrations.telegram.client import split_text

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "RouterSpec",
    "answer_long",
    "esc",
    "issue_url",
    "keyboard",
    "priority_label",
    "status_label",
]


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (text, callback data) pairs; data 'url:…' is a link."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=text, url=data[4:])
                if data.startswith("url:")
                else InlineKeyboardButton(text=text, callback_data=data)
                for text, data in row
            ]
            for row in rows
            if row
        ]
    )


async def answer_long(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send ``text`` in parts under Telegram's 4,096-character limit (markup on the last)."""
    parts = split_text(text)
    for i, part in enumerate(parts):
        await message.answer(part, reply_markup=reply_markup if i == len(parts) - 1 else None)


class OnLoop(Filter):
    """A magic filter (``F.text``, ``F.data.startswith(...)``) checked on the event loop.

    aiogram runs every synchronous filter through ``asyncio.to_thread``, so each
    ``F.…`` check of each candidate handler costs a trip to a worker thread and back:
    with 100 users at once that was a tenth of the bot's CPU (``bench/bot.py``). The
    check itself is a few attribute lookups; as an async :class:`Filter` it runs inline.
    """

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)

    def __str__(self) -> str:
        return f"OnLoop({self.magic!r})"


def on_loop(flt: Any) -> Any:
    return OnLoop(flt) if isinstance(flt, MagicFilter) else flt


class RouterSpec:
    """Handlers of one feature, registered with decorators like an aiogram Router.

    :meth:`build` makes a fresh Router each time: a Router can belong to one Dispatcher
    only, and a restarted bot (or a test) builds a new Dispatcher.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[tuple[str, tuple[Any, ...], Callable[..., Any]]] = []

    def _add(self, kind: str, filters: tuple[Any, ...]) -> Callable[[F], F]:
        def register(fn: F) -> F:
            self._handlers.append((kind, filters, fn))
            return fn

        return register

    def message(self, *filters: Any) -> Callable[[F], F]:
        return self._add("message", filters)

    def callback_query(self, *filters: Any) -> Callable[[F], F]:
        return self._add("callback_query", filters)

    def build(self) -> Router:
        router = Router(name=self.name)
        for kind, filters, fn in self._handlers:
            getattr(router, kind).register(fn, *map(on_loop, filters))
        return router
