"""What both webhook receivers need: reading a capped body and decoding it as JSON that
is safe to store (an object, not nested deeper than any real payload)."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # GitHub's and Telegram's payloads nest under 15 levels


class BadPayload(ValueError):
    """A body that is not a usable JSON object: answered 400, nothing stored."""


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk is what a hostile body would break)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
        if deepest > MAX_DEPTH:
            break
    return deepest


def decode_object(body: bytes | str) -> dict[str, Any]:
    """The JSON object in ``body``, or :class:`BadPayload` with the reason."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadPayload("JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload(f"not JSON: {exc}"[:200]) from None
    if not isinstance(value, dict):
        raise BadPayload("the payload must be a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise BadPayload("JSON nested too deeply")
    return value
