"""``dcc digest``: the text of the bot's /morning and /devops in the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from devops_center.cli.common import fail, load_settings, run, with_session


def digest(
    which: Annotated[str, typer.Argument(help="morning or devops")] = "morning",
    lang: Annotated[str, typer.Option(help="ru or en (default: DCC_DEFAULT_LANGUAGE)")] = "",
) -> None:
    """Print the text of /morning or /devops, as the bot and the daily digest send it."""
    import html

    from devops_center.digest import service as digest_service

    if which not in ("morning", "devops"):
        fail("digest: choose morning or devops")
    settings = load_settings()
    language = lang if lang in ("ru", "en") else settings.default_language
    build = digest_service.morning_text if which == "morning" else digest_service.devops_text
    text = run(with_session(settings, lambda s: build(s, settings=settings, lang=language)))
    typer.echo(html.unescape(text))  # Telegram HTML → plain text for the terminal
