"""A stand-in Telegram Bot API server (aiohttp, 127.0.0.1, port 0) and simulated users.

It records every call the bot makes, queues updates for ``getUpdates`` (long polling
with offsets, as Telegram does), serves ``getFile`` and file downloads, and can answer
the next call of a method with an error (429 with ``retry_after``, 403 blocked …).
Updates are built from the real Telegram payloads in ``tests/fixtures/telegram``.
Used by tests/bot and bench/bot.py.
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
TG_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip


class BadRequest(Exception):
    """What the real Bot API answers with 400 and this description."""


class _TelegramHtml(HTMLParser):
    """Telegram's HTML parse mode, as strict as the real server: known tags only, every
    tag closed in order, only the four named entities; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.visible: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TG_TAGS:
            raise BadRequest(f'Can\'t parse entities: unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise BadRequest(f'Can\'t parse entities: unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise BadRequest(f'Can\'t parse entities: unmatched end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise BadRequest(f'Can\'t parse entities: unsupported HTML entity "&{name};"')
        self.visible.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.visible.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        raise BadRequest("Can't parse entities: unexpected comment")

    def handle_decl(self, decl: str) -> None:
        raise BadRequest("Can't parse entities: unexpected declaration")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_text(text: str, parse_mode: str | None, limit: int, what: str = "message") -> None:
    """Raise BadRequest where the real Bot API refuses ``text``."""
    visible = text
    if parse_mode == "HTML":
        parser = _TelegramHtml()
        parser.feed(text)
        parser.close()
        if parser.open:
            tag = parser.open[-1]
            raise BadRequest(f"Can't parse entities: can't find end tag for start tag {tag}")
        visible = "".join(parser.visible)
    if not visible.strip() and what == "message":
        raise BadRequest("Bad Request: message text is empty")
    if utf16(visible.strip()) > limit:
        raise BadRequest(f"Bad Request: {what} is too long")


def check_markup(markup: Any) -> None:
    for row in (markup or {}).get("inline_keyboard") or []:
        for button in row:
            if not button.get("text"):
                raise BadRequest("Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not str(url).startswith(("https://", "http://", "tg://")):
                raise BadRequest("Bad Request: BUTTON_URL_INVALID")
            web_app = button.get("web_app")
            if web_app is not None:
                check_web_app_url(web_app)


def check_web_app_url(web_app: Any) -> None:
    """Telegram opens Mini Apps over https only."""
    url = str((web_app or {}).get("url") or "")
    if not url.startswith("https://"):
        raise BadRequest(
            f"Bad Request: Web App URL '{url}' is invalid: only HTTPS links are allowed"
        )


def check_request(method: str, params: dict[str, Any]) -> None:
    mode = params.get("parse_mode")
    if method in ("sendMessage", "editMessageText"):
        check_text(str(params.get("text") or ""), mode, 4096)
    if method in ("sendPhoto", "editMessageCaption") and params.get("caption"):
        check_text(str(params["caption"]), mode, 1024, "caption")
    if method == "answerCallbackQuery" and params.get("text"):
        check_text(str(params["text"]), None, 200, "callback answer text")
    if "reply_markup" in params:
        check_markup(params["reply_markup"])
    if method == "setChatMenuButton":
        button = params.get("menu_button") or {}
        if button.get("type") == "web_app":
            if not button.get("text"):
                raise BadRequest("Bad Request: menu button text is empty")
            check_web_app_url(button.get("web_app"))


BOT_USER = {"id": 123456, "is_bot": True, "first_name": "DCC", "username": "dcc_test_bot"}


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    result: Any = None
    index: int = 0

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or "")

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data or url) of the inline keyboard."""
        markup = self.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        return [
            (
                b.get("text", ""),
                b.get("callback_data") or b.get("url") or (b.get("web_app") or {}).get("url", ""),
            )
            for r in rows
            for b in r
        ]


def _parse_value(key: str, value: str) -> Any:
    if key in (
        "reply_markup",
        "link_preview_options",
        "allowed_updates",
        "commands",
        "scope",
        "menu_button",
    ):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class StandIn:
    token: str = "123456:TEST-token_abcdefghijklmnopqrstuv"
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    url: str = ""
    queued_at: dict[int, float] = field(default_factory=dict)
    fetched_at: dict[int, float] = field(default_factory=dict)  # first handed to getUpdates
    latency: float = 0.0  # seconds of network round trip added to every method but getUpdates
    refused: list[Call] = field(default_factory=list)  # requests answered 400, as Telegram would

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._cond = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._by_chat: dict[int, list[Call]] = {}
        self._chat_waiters: dict[int, asyncio.Event] = {}

    # -------------------------------------------------------------------- server

    async def start(self) -> str:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body or {})
        if request.can_read_body:
            form = await request.post()
            return {k: _parse_value(k, str(v)) for k, v in form.items()}
        return dict(request.query)

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        if self.latency:  # the request travels to Telegram ...
            await asyncio.sleep(self.latency / 2)
        call = Call(method, params, time.perf_counter())
        failure = self.failures.get(method)
        try:
            check_request(method, params)
        except BadRequest as exc:  # refused like the real server: recorded, 400
            call.result = {"ok": False, "error_code": 400, "description": str(exc)}
            self.refused.append(call)
            await self._record(call)
            return web.json_response(call.result, status=400)
        if failure:
            status, body = failure.pop(0)
            call.result = body
        else:
            status, call.result = 200, self._result(method, params)
            body = {"ok": True, "result": call.result}
        await self._record(call)
        if self.latency:  # ... and the answer travels back
            await asyncio.sleep(self.latency / 2)
        return web.json_response(body, status=status)

    async def _record(self, call: Call) -> None:
        call.index = len(self.calls)
        self.calls.append(call)
        chat = call.chat_id
        if chat is not None:
            self._by_chat.setdefault(chat, []).append(call)
            event = self._chat_waiters.get(chat)
            if event is not None:
                event.set()
        async with self._cond:
            self._cond.notify_all()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto"):
            chat_id = int(params.get("chat_id") or 0)
            message_id = params.get("message_id") or next(self._message_ids)
            return {
                "message_id": int(message_id),
                "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "date": int(time.time()),
                "text": params.get("text") or "",
                **({"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {}),
            }
        if method == "getFile":
            file_id = str(params.get("file_id"))
            if file_id not in self.files:
                return None
            return {
                "file_id": file_id,
                "file_unique_id": file_id[-8:],
                "file_size": len(self.files[file_id]),
                "file_path": f"photos/{file_id}.jpg",
            }
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        async with self._cond:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            try:
                await asyncio.wait_for(self._cond.wait_for(lambda: bool(self.updates)), timeout)
            except TimeoutError:
                return []
            batch = self.updates[:limit]
            now = time.perf_counter()
            for u in batch:
                self.fetched_at.setdefault(u["update_id"], now)
            return copy.deepcopy(batch)

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        file_id = path.removeprefix("photos/").removesuffix(".jpg")
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="image/jpeg")

    # ------------------------------------------------------------------- driving

    def fail_next(self, method: str, status: int, description: str, **parameters: Any) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.failures.setdefault(method, []).append((status, body))

    async def push(self, update: dict[str, Any]) -> int:
        async with self._cond:
            update_id = next(self._ids)
            update["update_id"] = update_id
            self.updates.append(update)
            self.queued_at[update_id] = time.perf_counter()
            self._cond.notify_all()
        return update_id

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        *,
        after: int = 0,
        timeout: float = 10.0,
        chat_id: int | None = None,
    ) -> Call:
        """The first recorded call at index ≥ ``after`` that matches, waiting for it.

        With ``chat_id`` only that chat's calls are looked at (cheap with many users).
        """
        if chat_id is not None:
            return await self._wait_chat(predicate, chat_id, after, timeout)

        def find() -> Call | None:
            return next((c for c in self.calls[after:] if predicate(c)), None)

        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: find() is not None), timeout)
            found = find()
            assert found is not None
            return found

    async def _wait_chat(
        self, predicate: Callable[[Call], bool], chat_id: int, after: int, timeout: float
    ) -> Call:
        deadline = time.perf_counter() + timeout
        event = self._chat_waiters.setdefault(chat_id, asyncio.Event())
        while True:
            event.clear()
            for call in self._by_chat.get(chat_id, []):
                if call.index >= after and predicate(call):
                    return call
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no matching call to chat {chat_id}")
            await asyncio.wait_for(event.wait(), remaining)

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]


class TgUser:
    """A simulated Telegram user in a private chat with the bot."""

    def __init__(
        self, standin: StandIn, user_id: int, *, lang: str = "en", first_name: str = "Ann"
    ) -> None:
        self.standin = standin
        self.id = user_id
        self.lang = lang
        self.first_name = first_name

    def _message(self) -> dict[str, Any]:
        message = fixture("illemius_update_message_text.json")["message"]
        message["from"].update(
            id=self.id, first_name=self.first_name, language_code=self.lang, username=None
        )
        for obj in (message["from"], message["chat"]):
            obj.pop("username", None)
            obj.pop("last_name", None)
        message["chat"].update(id=self.id, first_name=self.first_name)
        message["date"] = int(time.time())
        message["message_id"] = next(self.standin._message_ids)
        return message

    async def send_text(self, text: str) -> int:
        message = self._message()
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.standin.push({"message": message})

    async def send_photo(
        self,
        file_id: str,
        data: bytes | None = None,
        size: int | None = None,
        *,
        caption: str | None = None,
    ) -> int:
        photo_msg = fixture("teloxide_message_object_photo.json")
        message = self._message()
        message.pop("text")
        sizes = photo_msg["photo"]
        sizes[-1]["file_id"] = file_id
        if data is not None:
            self.standin.files[file_id] = data
            sizes[-1]["file_size"] = len(data)
        if size is not None:
            sizes[-1]["file_size"] = size
        message["photo"] = sizes
        if caption is not None:
            message["caption"] = caption
        return await self.standin.push({"message": message})

    async def press(self, call: Call, button: str) -> int:
        """Press the inline button whose text contains ``button`` on a message the bot sent."""
        data = next((d for t, d in call.buttons() if button in t), None)
        assert data is not None, f"no button {button!r} in {call.buttons()}"
        return await self.press_data(call, data)

    async def press_data(self, call: Call, data: str) -> int:
        query = fixture("teloxide_callback_query_object.json")
        query.pop("inline_message_id")
        query.pop("game_short_name")
        query["id"] = f"cq{next(self.standin._ids)}"
        query["from"].update(id=self.id, first_name=self.first_name, language_code=self.lang)
        query["data"] = data
        query["message"] = call.result
        return await self.standin.push({"callback_query": query})

    def mark(self) -> int:
        return len(self.standin.calls)

    async def ask(self, text: str, expect: str = "", *, timeout: float = 10.0) -> Call:
        """Send ``text`` and wait for the bot's next message to this chat containing ``expect``."""
        mark = self.mark()
        await self.send_text(text)
        return await self.reply(expect, after=mark, timeout=timeout)

    async def reply(self, expect: str = "", *, after: int, timeout: float = 10.0) -> Call:
        return await self.standin.wait_for(
            lambda c: (
                c.method in ("sendMessage", "editMessageText")
                and c.chat_id == self.id
                and expect in c.text
            ),
            after=after,
            timeout=timeout,
        )

    async def tap(self, call: Call, button: str, expect: str = "") -> Call:
        mark = self.mark()
        await self.press(call, button)
        return await self.reply(expect, after=mark)
