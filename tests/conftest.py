"""Shared fixtures: settings, a migrated database (SQLite and PostgreSQL), web clients.

Every database test runs twice, as ``[sqlite]`` and ``[postgresql]``. Each run gets a
fresh database (a temporary SQLite file; a new PostgreSQL database, dropped at the end),
migrated once with Alembic; after every test all tables are emptied.

With ``CI=true`` a missing PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devops_center.config import Settings, get_settings
from devops_center.db import make_engine, make_sessionmaker
from devops_center.migrations import runner
from devops_center.models import Base
from devops_center.users import credentials
from devops_center.users import service as users
from devops_center.users.models import User

# Cheap argon2 parameters for the suite only (hundreds of users are created and signed
# in); the product's own parameters are argon2-cffi's defaults, tested in tests/users.
credentials._hasher = credentials.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_HOST = os.environ.get("DCC_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DCC_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("DCC_TEST_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("DCC_TEST_PG_PASSWORD", "")
REDIS_URL = os.environ.get("DCC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

PASSWORD = "correct horse battery"
ROLES = ("employee", "manager", "owner", "superadmin")


def _pg_dsn(database: str = "postgres") -> str:
    auth = PG_USER + (f":{PG_PASSWORD}" if PG_PASSWORD else "")
    return f"postgresql://{auth}@{PG_HOST}:{PG_PORT}/{database}"


async def _pg_available() -> str | None:
    try:
        conn = await asyncpg.connect(_pg_dsn(), timeout=5)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def unavailable(what: str, why: str) -> None:
    """Skip locally; fail under CI, where every service must be there."""
    if CI:
        pytest.fail(f"{what} is required under CI=true but unavailable: {why}", pytrace=False)
    pytest.skip(f"{what} unavailable: {why}")


# ------------------------------------------------------------------------ databases


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("db") / "test.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    runner.upgrade(url)
    return url


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    why = asyncio.run(_pg_available())
    if why:
        unavailable("PostgreSQL", why)
    name = f"dcc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_pg_dsn())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    auth = PG_USER + (f":{PG_PASSWORD}" if PG_PASSWORD else "")
    url = f"postgresql+asyncpg://{auth}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        runner.upgrade(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The migrated database URL of this run: ``[sqlite]`` or ``[postgresql]``."""
    fixture = "_sqlite_url" if request.param == "sqlite" else "_postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


def make_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "var_dir": tmp_path / "var",
        "secret_key": "test-secret-key-" + "x" * 32,
        "config_file": None,
        "checks": [],
    }
    values.update(overrides)
    return get_settings(**values)


async def _truncate(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url, pool_size=5)
    await _truncate(engine)
    try:
        yield engine
    finally:
        await _truncate(engine)
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work the test commits itself (``await session.commit()``)."""
    async with sessionmaker() as s:
        yield s


# ---------------------------------------------------------------------------- users


@pytest.fixture
async def people(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, User]:
    """One user of every role, password :data:`PASSWORD`, emails ``<role>@test.local``."""
    out: dict[str, User] = {}
    async with sessionmaker() as s, s.begin():
        for role in ROLES:
            out[role] = await users.create_user(
                s,
                name=f"Test {role}",
                role=role,
                email=f"{role}@test.local",
                password=PASSWORD,
                language="en",
            )
    return out


# ------------------------------------------------------------------------ web client


@pytest.fixture
def app(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> Any:
    from devops_center.web.app import create_app

    return create_app(settings, engine=engine, sessionmaker=sessionmaker)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", follow_redirects=False
    ) as c:
        yield c


@pytest.fixture
async def make_client(app: Any) -> AsyncIterator[Any]:
    """A factory of extra independent clients (other browsers), closed at the end."""
    clients: list[httpx.AsyncClient] = []

    def factory(ip: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(c)
        return c

    yield factory
    for c in clients:
        await c.aclose()


@pytest.fixture
async def as_role(make_client: Any, people: dict[str, User]) -> Any:
    """``await as_role("owner")`` → a client signed in as that role's test user."""

    async def factory(role: str) -> httpx.AsyncClient:
        c = make_client()
        response = await login(c, people[role].email or "")
        assert response.status_code == 303, response.text
        return c

    return factory


CSRF_RE = re.compile(r'name="csrftoken" value="([^"]+)"')


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    """GET a page with a form and return its CSRF token (the cookie is kept by the client)."""
    response = await client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(
        "/login",
        data={"csrftoken": token, "email": email, "password": password, "next": "/support"},
    )


async def post_form(
    client: httpx.AsyncClient,
    path: str,
    data: dict[str, Any],
    *,
    form_page: str | None = None,
    files: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST a form the way a browser does: with the CSRF token from ``form_page``."""
    token = await csrf_token(client, form_page or path)
    return await client.post(path, data={"csrftoken": token, **data}, files=files)


def random_token() -> str:
    return secrets.token_hex(8)
