"""Run Alembic programmatically (``dcc db …``, ``dcc demo``, tests)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent

# Objects the migrations create by hand (full-text search tables, triggers) that the
# models do not describe: autogenerate must not propose to drop them.
MANUAL_OBJECTS_PREFIXES = ("faq_fts",)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (name and name.startswith(MANUAL_OBJECTS_PREFIXES))


def alembic_config(database_url: str, stdout: io.StringIO | None = None) -> Config:
    cfg = Config(stdout=stdout) if stdout is not None else Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["database_url"] = database_url
    return cfg


def _in_thread(fn: object, *args: object) -> None:
    """Alembic's env.py calls asyncio.run(); keep it off a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn(*args)  # type: ignore[operator]
        return
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    _in_thread(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    _in_thread(command.downgrade, alembic_config(database_url), revision)


def current(database_url: str) -> str:
    out = io.StringIO()
    _in_thread(command.current, alembic_config(database_url, stdout=out))
    return out.getvalue().strip()
