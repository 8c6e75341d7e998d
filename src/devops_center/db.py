"""Database plumbing: declarative base, engine factory, sessions, UTC timestamps."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    PostgreSQL keeps ``timestamptz``; SQLite keeps naive UTC text. Naive values given
    to us are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # SQLite: one function each way instead of ours chained with SQLAlchemy's DATETIME
    # processors (a dict and a %-format per value): an import of 1M deployments binds
    # and reads some ten million timestamps. The text is the same as SQLAlchemy's.

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_value
        return super().result_processor(dialect, coltype)


def _sqlite_text(value: datetime | None) -> str | None:
    """A timestamp as SQLite keeps it: naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``,
    the microseconds always written (the texts are compared as strings)."""
    if value is None:
        return None
    zone = value.tzinfo
    if zone is UTC:  # the common case: the text without its "+00:00"
        return value.isoformat(" ", "microseconds")[:26]
    if zone is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _sqlite_value(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


PING_IDLE_AFTER = 10.0  # seconds a pooled connection may rest before it is pinged


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection before use, but only after it rested a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, which on asyncpg is three
    round trips (BEGIN, an empty query, ROLLBACK) before every request's own work —
    half of the bot's database round trips under load (``bench/bot.py``). A connection
    that finished a query moments ago is alive; one that rested ``PING_IDLE_AFTER``
    seconds (the database may have restarted, a proxy may have dropped it) is pinged,
    and a dead one is replaced by the pool before anyone sees it (the checkout event's
    ``DisconnectionError`` contract). A connection that dies within the window fails
    that one request; the pool is then invalidated as a whole and reconnects.
    """
    dialect = engine.dialect

    def rested(dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info["dcc_rest_from"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("dcc_rest_from")
        if since is not None and time.monotonic() - since < PING_IDLE_AFTER:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError(str(exc)) from exc
            raise

    event.listen(engine.sync_engine, "connect", rested)
    event.listen(engine.sync_engine, "checkin", rested)
    event.listen(engine.sync_engine, "checkout", checkout)


def make_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    echo: bool = False,
) -> AsyncEngine:
    """An async engine. SQLite gets WAL, foreign keys and a busy timeout on every connection.

    ``max_overflow`` (default: ``pool_size``) connections beyond the pool are opened
    under a burst and closed when returned; 0 makes a burst wait for a pooled one.
    """
    overflow = pool_size if max_overflow is None else max_overflow
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=overflow)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=overflow,
        pool_recycle=1800,
        # short statements only (the DORA report runs a dozen): compiling one with JIT
        # would cost more than running it
        connect_args={"server_settings": {"jit": "off"}},
    )
    _ping_when_idle(engine)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def statement_sessionmaker(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession] | None:
    """On PostgreSQL, ``sessionmaker``'s sessions with every statement committing by
    itself (AUTOCOMMIT: no BEGIN and no COMMIT round trips), for reads and
    single-statement writes that need no transaction around them; None elsewhere (SQLite
    keeps its transactions: one writer at a time)."""
    bind = sessionmaker.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
        return None
    autocommit = bind.execution_options(isolation_level="AUTOCOMMIT")
    kw = {k: v for k, v in sessionmaker.kw.items() if k != "bind"}
    return async_sessionmaker(autocommit, **kw)


DbErrorKind = Literal["unavailable", "conflict", "invalid", "bug"]

# SQLSTATE classes (PostgreSQL appendix A) of a database that is away or overloaded.
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")  # connection, resources, operator, system


def db_error_kind(exc: BaseException) -> DbErrorKind:
    """What a database error means for the caller.

    ``unavailable``: the database cannot be reached or is overloaded (try again later);
    ``conflict``: the data breaks a constraint (a unique key, a concurrent change);
    ``invalid``: a value the database cannot store (NUL in text, out of range, bad date);
    ``bug``: anything else (a programming error).
    """
    if isinstance(exc, PoolTimeout | OSError | TimeoutError):  # ConnectionError is an OSError
        return "unavailable"
    if not isinstance(exc, DBAPIError):
        return "bug"
    if exc.connection_invalidated:
        return "unavailable"
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
    if len(sqlstate) == 5:
        if sqlstate.startswith(_UNAVAILABLE_CLASSES):
            return "unavailable"
        if sqlstate.startswith(("23", "40")):  # integrity; serialization failure, deadlock
            return "conflict"
        if sqlstate.startswith("22"):
            return "invalid"
        return "bug"
    if isinstance(exc, IntegrityError):
        return "conflict"
    if isinstance(exc, DataError):
        return "invalid"
    if isinstance(exc, OperationalError | InterfaceError):  # SQLite: locked, I/O; driver gone
        return "unavailable"
    return "bug"


def db_error_summary(exc: BaseException) -> str:
    """One log line about a database error, without the statement or its parameters."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    first = str(orig).strip().splitlines()[0][:200] if str(orig).strip() else ""
    return f"{type(orig).__name__}" + (f" [{sqlstate}]" if sqlstate else "") + f": {first}"


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any exception."""
    async with sessionmaker() as session, session.begin():
        yield session


RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Page(Generic[RowT]):
    """One page of a list shown with page numbers: its rows, how many rows match in all,
    the page's number (from 1) and its size."""

    items: list[RowT]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))
