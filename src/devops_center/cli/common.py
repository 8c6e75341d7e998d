"""What every ``dcc`` command shares: settings, errors, one transaction, the event loop.

The command modules import from here and never from the package itself, so the package
(which registers them) and its commands do not import each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from devops_center.config import ConfigError, Settings, get_settings

T = TypeVar("T")

HostOpt = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)]


def fail(message: str, code: int = 2) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Settings:
    try:
        return get_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))
        raise AssertionError from exc  # unreachable


def setup_logging(settings: Settings) -> None:
    from devops_center.logsetup import configure

    configure(settings)


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def with_session(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(session)`` in one transaction against the configured database."""
    from devops_center.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            return await fn(session)
    finally:
        await engine.dispose()


def echo_result(
    settings: Settings,
    fn: Callable[[Any], Awaitable[str | list[str]]],
    *,
    with_fields: bool = False,
) -> None:
    """Print what ``fn(session)`` returns (a line, or lines), run in one transaction. A
    refusal of the service exits with status 2 and its message in red; ``with_fields``
    names the refused fields too."""
    from devops_center.errors import DomainError

    try:
        result = run(with_session(settings, fn))
    except DomainError as exc:
        fields = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "fields", {}).items())
        fail(f"{exc.message}: {fields}" if with_fields and fields else exc.message)
        return
    for line in [result] if isinstance(result, str) else result:
        typer.echo(line)
