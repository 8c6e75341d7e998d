"""A small Telegram Bot API client for the worker (notifications, file downloads).

Requests go to ``{TELEGRAM_API_URL}/bot<token>/<method>`` and files come from
``{TELEGRAM_API_URL}/file/bot<token>/<path>``, as with a local Bot API server. The bot's
own dialogs use aiogram; jobs use this client so that errors map onto retry rules:

* 429 → :class:`TelegramRetryAfter` (``retry_after`` seconds from the answer);
* 403 → :class:`TelegramForbidden` (the user blocked the bot, or the chat is gone);
* anything else → :class:`TelegramError` (retried with backoff by the worker).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from devops_center.config import Settings
from devops_center.integrations.telegram.text import fit_html, split_html


class TelegramError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TelegramRetryAfter(TelegramError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class TelegramForbidden(TelegramError):
    """403: the bot was blocked by the user, kicked from the chat, or the user is gone."""


class TelegramBadRequest(TelegramError):
    """400: the request itself is wrong (e.g. chat not found); retrying will not help."""


class TelegramClient:
    def __init__(
        self,
        *,
        token: str,
        api_url: str = "https://api.telegram.org",
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._token = token
        self.api_url = api_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._own_client = client is None

    async def __aenter__(self) -> TelegramClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    def method_url(self, method: str) -> str:
        return f"{self.api_url}/bot{self._token}/{method}"

    def file_url(self, file_path: str) -> str:
        return f"{self.api_url}/file/bot{self._token}/{file_path.lstrip('/')}"

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call a Bot API method; returns its ``result`` or raises a TelegramError."""
        body = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.post(self.method_url(method), json=body)
        except httpx.HTTPError as exc:
            raise TelegramError(f"{method}: {type(exc).__name__}: {exc}") from exc
        try:
            data = response.json()
        except (json.JSONDecodeError, ValueError):
            data = {"ok": False, "description": response.text[:200]}
        if response.status_code == 200 and isinstance(data, dict) and data.get("ok"):
            return data.get("result")
        return self._raise(method, response.status_code, data if isinstance(data, dict) else {})

    def _raise(self, method: str, status: int, data: dict[str, Any]) -> Any:
        code = int(data.get("error_code") or status)
        description = str(data.get("description") or f"HTTP {status}")
        message = f"{method}: {code} {description}"
        params = data.get("parameters") or {}
        if code == 429:
            retry_after = float(params.get("retry_after") or 5)
            raise TelegramRetryAfter(message, retry_after=retry_after)
        if code == 403:
            raise TelegramForbidden(message, status=code)
        if code == 400:
            raise TelegramBadRequest(message, status=code)
        raise TelegramError(message, status=code)

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: dict[str, Any] | None = None,
        disable_preview: bool = True,
    ) -> list[Any]:
        """Send ``text`` (in parts within Telegram's limits); returns the messages."""
        sent = []
        parts = split_html(text) if parse_mode == "HTML" else [text]
        for i, part in enumerate(parts):
            sent.append(
                await self.call(
                    "sendMessage",
                    {
                        "chat_id": chat_id,
                        "text": part,
                        "parse_mode": parse_mode,
                        "link_preview_options": {"is_disabled": disable_preview},
                        "reply_markup": reply_markup if i == len(parts) - 1 else None,
                    },
                )
            )
        return sent

    async def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
    ) -> Any:
        """Replace a sent message's text (shortened to Telegram's limit if it must be)."""
        return await self.call(
            "editMessageText",
            {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": fit_html(text),
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
                "reply_markup": reply_markup,
            },
        )

    async def get_file(self, file_id: str) -> dict[str, Any]:
        result = await self.call("getFile", {"file_id": file_id})
        if not isinstance(result, dict):
            raise TelegramError("getFile: unexpected answer")
        return result

    async def download(self, file_path: str, *, max_bytes: int) -> bytes:
        """Download a file, refusing more than ``max_bytes`` (raises TelegramBadRequest)."""
        try:
            async with self._client.stream("GET", self.file_url(file_path)) as response:
                if response.status_code != 200:
                    await response.aread()
                    if response.status_code == 404:
                        raise TelegramBadRequest("file not found", status=404)
                    raise TelegramError(
                        f"file download: HTTP {response.status_code}",
                        status=response.status_code,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise TelegramBadRequest("file too large", status=413)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise TelegramError(f"file download: {type(exc).__name__}: {exc}") from exc


def client_for(settings: Settings) -> TelegramClient:
    """The client of the configured bot (the caller checks that a token is set)."""
    assert settings.telegram_bot_token is not None
    return TelegramClient(
        token=settings.telegram_bot_token.get_secret_value(), api_url=settings.telegram_api_url
    )
