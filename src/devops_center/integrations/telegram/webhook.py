"""The shared secret of the Telegram webhook (``X-Telegram-Bot-Api-Secret-Token``)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from devops_center.config import Settings

WEBHOOK_PATH = "/webhooks/telegram"


def webhook_secret(settings: Settings) -> str:
    """``DCC_TELEGRAM_WEBHOOK_SECRET``, or one derived from ``SECRET_KEY`` and the bot token.

    Telegram allows 1–256 characters of ``A-Z a-z 0-9 _ -``; a hex digest fits.
    """
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    key = settings.session_secret().encode()
    return hmac.new(key, b"telegram-webhook:" + token.encode(), hashlib.sha256).hexdigest()


def check_secret(settings: Settings, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(header.encode(), webhook_secret(settings).encode())


def webhook_url(settings: Settings) -> str | None:
    """The public URL Telegram posts to; a bare base URL gets ``/webhooks/telegram``."""
    url = settings.telegram_webhook_url
    if not url:
        return None
    if urlsplit(url).path in ("", "/"):
        return url.rstrip("/") + WEBHOOK_PATH
    return url
