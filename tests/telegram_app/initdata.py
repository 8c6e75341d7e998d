"""Synthetic Telegram Mini App initData, signed the way Telegram's documentation says
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app),
written here independently of the code under test."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

BOT_TOKEN = "123456:AAE-test-bot-token_for_the_suite"


def make_init_data(
    *,
    bot_token: str = BOT_TOKEN,
    user: dict[str, Any] | None = None,
    auth_date: int | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    fields: dict[str, str] = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            user
            or {
                "id": 279058397,
                "first_name": "Vladislav",
                "last_name": "Kibenko",
                "username": "vdkfrost",
                "language_code": "ru",
                "is_premium": True,
                "allows_write_to_pm": True,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **(extra or {}),
    }
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)
