"""Secrets never reach the logs: not in messages, arguments or tracebacks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from devops_center import logsetup
from tests.conftest import make_settings

BOT_TOKEN = "123456:AAH-telegram-secret-token-value"
GITHUB_TOKEN = "ghp_github_secret_token_value_0001"


def test_configured_secrets_are_scrubbed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}",
        tmp_path,
        telegram_bot_token=BOT_TOKEN,
        github_token=GITHUB_TOKEN,
    )
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logsetup.configure(settings)
        log = logging.getLogger("devops_center.test")
        log.warning("calling https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
        log.error("token in the message itself: %s" % GITHUB_TOKEN)  # noqa: UP031
        try:
            raise RuntimeError(f"HTTP error for https://api.telegram.org/bot{BOT_TOKEN}/getMe")
        except RuntimeError:
            log.exception("request failed")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "sendMessage" in err and "request failed" in err and "getMe" in err
    assert BOT_TOKEN not in err and GITHUB_TOKEN not in err
    assert err.count("***") >= 3
