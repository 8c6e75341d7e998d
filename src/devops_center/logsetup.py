"""Logging set-up, with secrets scrubbed from every record."""

from __future__ import annotations

import logging
import sys

from devops_center.config import Settings


class SecretFilter(logging.Filter):
    """Replaces configured secret values in log messages with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, "***")
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


class ScrubbingFormatter(logging.Formatter):
    """Scrubs secrets from the whole formatted record, tracebacks included.

    A filter sees only the message; an exception's text (an httpx error quoting a URL with
    the Telegram bot token in it, say) is added by the formatter, so it is scrubbed here.
    """

    def __init__(self, fmt: str, datefmt: str, secrets: list[str]) -> None:
        super().__init__(fmt, datefmt)
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def secret_values(settings: Settings) -> list[str]:
    values = []
    for secret in (
        settings.github_token,
        settings.github_webhook_secret,
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.metrics_token,
        settings.secret_key,
    ):
        if secret is not None:
            values.append(secret.get_secret_value())
    return values


def configure(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    secrets = secret_values(settings)
    handler.setFormatter(
        ScrubbingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S", secrets)
    )
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # httpx logs full URLs, which carry the Telegram bot token: keep them out.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
