"""Telegram's limits on what a bot sends, kept in one place for the bot and the worker.

Telegram refuses a message whose text, after its HTML is parsed, is longer than 4,096
UTF-16 code units (a caption 1,024, a callback answer 200), and any HTML it cannot
parse: a tag it does not know, a tag cut in half, an entity other than ``&lt; &gt;
&amp; &quot;`` and numeric ones. Counting Python characters is not enough: an emoji
is one character and two UTF-16 units. Every text goes through :func:`split_html`
(messages: sent in several parts, the buttons on the last) or :func:`fit_html` /
:func:`fit_plain` (an edit, a caption, a callback answer: shortened with "…"), which
cut between characters of the visible text only, close the tags open at the cut and
open them again in the next part. Tags Telegram does not know are sent as text.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
ELLIPSIS = "…"

# The tags of Telegram's HTML parse mode (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


class _Tokens(HTMLParser):
    """Our HTML as ("text", unescaped) / ("start", tag, raw) / ("end", tag, raw) tokens."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        self.tokens.append(("start", tag, raw) if tag in ALLOWED_TAGS else ("text", raw, ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(("text", self.get_starttag_text() or "", ""))

    def handle_endtag(self, tag: str) -> None:
        kind = "end" if tag in ALLOWED_TAGS else "text"
        self.tokens.append((kind, tag, "") if kind == "end" else ("text", f"</{tag}>", ""))

    def handle_data(self, data: str) -> None:
        self.tokens.append(("text", data, ""))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(("text", f"<!--{data}-->", ""))

    def unknown_decl(self, data: str) -> None:
        self.tokens.append(("text", f"<![{data}]>", ""))

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(("text", f"<!{decl}>", ""))

    def handle_pi(self, data: str) -> None:
        self.tokens.append(("text", f"<?{data}>", ""))


def _tokens(text: str) -> list[tuple[str, str, str]]:
    parser = _Tokens()
    parser.feed(text)
    parser.close()
    return parser.tokens


def _simple(text: str, limit: int) -> bool:
    """No markup to check and certainly short enough: sent as it is (the common case)."""
    return "<" not in text and "&" not in text and 2 * len(text) <= limit


def _cut(data: str, room: int) -> int:
    """How many characters of ``data`` to keep in ``room`` UTF-16 units: at a line end,
    else at a space, else as many as fit (never half of a character)."""
    fit = 0
    used = 0
    for ch in data:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            break
        fit += 1
    if fit == len(data):
        return fit
    for sep in ("\n", " "):
        at = data.rfind(sep, 0, fit + 1)
        if at > fit // 2:
            return at
    return fit


class _Parts:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.current: list[str] = []
        self.visible: list[str] = []
        self.used = 0
        self.open: list[tuple[str, str]] = []

    def flush(self) -> None:
        if "".join(self.visible).strip():
            closing = "".join(f"</{tag}>" for tag, _raw in reversed(self.open))
            self.parts.append(("".join(self.current) + closing).strip())
        self.current = [raw for _tag, raw in self.open]
        self.visible = []
        self.used = 0

    def start(self, tag: str, raw: str) -> None:
        self.open.append((tag, raw))
        self.current.append(raw)

    def end(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:  # close what is open, down to this tag
                for inner, _raw in reversed(self.open[i:]):
                    self.current.append(f"</{inner}>")
                del self.open[i:]
                return  # a closing tag with no opening one is dropped

    def text(self, data: str) -> None:
        while data:
            room = self.limit - self.used
            size = utf16_len(data)
            if size <= room:
                self.add(data, size)
                return
            keep = _cut(data, room)
            if keep == 0 and self.used:  # nothing more fits here: the next part
                self.flush()
                continue
            head = data[: max(keep, 1)]
            self.add(head, utf16_len(head))
            self.flush()
            data = data[len(head) :].lstrip(" \n")

    def add(self, data: str, size: int) -> None:
        self.current.append(_esc(data))
        self.visible.append(data)
        self.used += size


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Valid Telegram HTML parts, each at most ``limit`` UTF-16 units of visible text.

    Never an empty list: an empty text gives one empty part (the caller decides).
    """
    if _simple(text, limit):
        return [text]
    parts = _Parts(limit)
    for kind, value, raw in _tokens(text):
        if kind == "start":
            parts.start(value, raw)
        elif kind == "end":
            parts.end(value)
        else:
            parts.text(value)
    parts.flush()
    return parts.parts or [""]


def fit_html(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` as valid Telegram HTML, shortened with "…" to ``limit`` when longer."""
    if _simple(text, limit):
        return text
    parts = split_html(text, limit)
    if len(parts) == 1:
        return parts[0]
    return split_html(text, limit - 1)[0] + ELLIPSIS


def fit_plain(text: str, limit: int = CALLBACK_ANSWER_LIMIT) -> str:
    """Plain text (a callback answer) shortened with "…" to ``limit`` UTF-16 units."""
    if utf16_len(text) <= limit:
        return text
    return text[: _cut(text, limit - 1)].rstrip() + ELLIPSIS


def visible_len(text: str) -> int:
    """UTF-16 length of what Telegram shows of ``text`` (tags removed, entities decoded)."""
    return sum(utf16_len(value) for kind, value, _raw in _tokens(text) if kind == "text")
