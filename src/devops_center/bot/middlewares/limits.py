"""Every text the bot sends fits Telegram: one request middleware for all handlers.

A message over 4,096 UTF-16 units of visible text is sent in parts (the buttons on the
last one); an edit, a caption or a callback answer is shortened with "…"; unknown tags
are sent as text. The rules are :mod:`devops_center.integrations.telegram.text`, which
the worker's notifications use too. aiogram sends what it is given, and Telegram
answers a too long or malformed text with 400, which would leave the user without a
reply.
"""

from __future__ import annotations

from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageText,
    Response,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from devops_center.integrations.telegram.text import (
    CALLBACK_ANSWER_LIMIT,
    CAPTION_LIMIT,
    fit_html,
    fit_plain,
    split_html,
)


class TelegramLimits(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, SendMessage):
            parts = split_html(method.text)
            if len(parts) > 1:
                return await self._in_parts(make_request, bot, method, parts)
            method.text = parts[0]
        elif isinstance(method, EditMessageText) and method.text:
            method.text = fit_html(method.text)
        elif isinstance(method, SendPhoto | EditMessageCaption):
            caption = method.caption
            if caption:
                method.caption = fit_html(caption, CAPTION_LIMIT)
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            method.text = fit_plain(method.text, CALLBACK_ANSWER_LIMIT)
        return await make_request(bot, method)

    async def _in_parts(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: SendMessage,
        parts: list[str],
    ) -> Response[TelegramType]:
        response: Any = None
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            piece = method.model_copy(
                update={"text": part, "reply_markup": method.reply_markup if last else None}
            )
            response = await make_request(bot, cast(TelegramMethod[TelegramType], piece))
        return cast(Response[TelegramType], response)
