"""Sign-in from the Telegram Mini App: checking ``Telegram.WebApp.initData``.

Telegram signs the data it hands a Mini App with the bot's token
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):

* the *data-check-string* is every received field but ``hash``, as ``key=value`` with
  the value URL-decoded, sorted by key and joined with line feeds;
* the secret key is ``HMAC_SHA256(key="WebAppData", msg=bot_token)``;
* ``hash`` is the hex ``HMAC_SHA256(key=secret_key, msg=data_check_string)``.

:func:`validate` is that check (pure, no database), plus the age of ``auth_date``.
:func:`sign_in` adds what makes it a sign-in: an initData signs in once (its hash is
remembered until it would be too old anyway), and the account is the one linked to the
Telegram id, or a new employee account made the way the bot's /start makes one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.errors import Forbidden
from devops_center.i18n import lazy
from devops_center.users import service as users
from devops_center.users import team
from devops_center.users.models import TelegramInitDataUse, User

log = logging.getLogger("devops_center.users")

MAX_INIT_DATA = 8192  # characters; Telegram's are well under 2 KB
FUTURE_SKEW = 60  # seconds an auth_date may be ahead of our clock


class InitDataError(Exception):
    """The initData is not Telegram's, is too old, or was used already. ``message`` is a
    msgid for the person who sees the refusal."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    id: int
    first_name: str = ""
    last_name: str = ""
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or f"tg{self.id}"


@dataclass(frozen=True)
class InitData:
    user: WebAppUser
    auth_date: int
    hash: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def start_param(self) -> str | None:
        return self.fields.get("start_param")


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def _parse_user(raw: str | None) -> WebAppUser:
    try:
        data: Any = json.loads(raw or "")
        uid = data["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InitDataError(lazy("Telegram did not say who you are."), "no user") from exc
    if not isinstance(uid, int) or isinstance(uid, bool) or not 0 < uid < 2**53:
        raise InitDataError(lazy("Telegram did not say who you are."), "bad user id")

    def text(key: str, limit: int) -> str:
        value = data.get(key)
        return value[:limit] if isinstance(value, str) else ""

    return WebAppUser(
        id=uid,
        first_name=text("first_name", 100),
        last_name=text("last_name", 100),
        username=text("username", 64) or None,
        language_code=text("language_code", 10) or None,
        is_bot=data.get("is_bot") is True,
    )


def validate(init_data: str, bot_token: str, *, max_age: int, now: float | None = None) -> InitData:
    """The checked initData, or :class:`InitDataError` (not signed with this bot's token,
    a field changed, no user, or ``auth_date`` older than ``max_age`` seconds)."""
    bad = lazy("This sign-in did not come from Telegram. Close the app and open it again.")
    if not init_data or len(init_data) > MAX_INIT_DATA or not bot_token:
        raise InitDataError(bad, "empty or too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise InitDataError(bad, "not a query string") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError(bad, "a field given twice")
    received = fields.get("hash", "")
    expected = hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, received.lower()):
        raise InitDataError(bad, "hash mismatch")
    try:
        auth_date = int(fields.get("auth_date", ""))
    except ValueError as exc:
        raise InitDataError(bad, "no auth_date") from exc
    now = time.time() if now is None else now
    if auth_date > now + FUTURE_SKEW:
        raise InitDataError(bad, "auth_date in the future")
    if now - auth_date > max_age:
        raise InitDataError(
            lazy("This sign-in has expired. Close the app and open it again."), "expired"
        )
    user = _parse_user(fields.get("user"))
    if user.is_bot:
        raise InitDataError(bad, "a bot")
    return InitData(user=user, auth_date=auth_date, hash=expected, fields=fields)


async def claim(session: AsyncSession, data: InitData, *, max_age: int) -> None:
    """Record that ``data`` was used; :class:`InitDataError` if it was already. One
    insert that does nothing on a known hash, so two requests at once cannot both win."""
    expires = utcnow() + timedelta(seconds=max_age + FUTURE_SKEW)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(TelegramInitDataUse)
        .values(hash=data.hash, telegram_id=data.user.id, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["hash"])
        .returning(TelegramInitDataUse.hash)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        raise InitDataError(
            lazy("This sign-in was used already. Close the app and open it again."), "replayed"
        )


async def purge(session: AsyncSession) -> int:
    """Forget used initData that would be refused as too old anyway."""
    result = await session.execute(
        delete(TelegramInitDataUse).where(TelegramInitDataUse.expires_at <= utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def user_for(
    session: AsyncSession, tg: WebAppUser, *, superadmin_ids: frozenset[int]
) -> User:
    """The account linked to this Telegram user, or a new one (employee; superadmin for
    a configured id), as the bot's /start makes it. Forbidden for a disabled account."""
    user = await users.get_by_telegram_id(session, telegram_id=tg.id)
    if user is None:
        user = await team.register_telegram_user(
            session,
            telegram_id=tg.id,
            name=tg.full_name,
            username=tg.username,
            language_code=tg.language_code,
            superadmin=tg.id in superadmin_ids,
        )
    if not user.is_active:
        raise Forbidden(lazy("This account is disabled"))
    if tg.username and tg.username != user.telegram_username:
        user.telegram_username = tg.username
    return user


async def sign_in(
    session: AsyncSession,
    init_data: str,
    *,
    bot_token: str,
    max_age: int,
    superadmin_ids: frozenset[int],
    current: User | None = None,
    now: float | None = None,
) -> User | None:
    """Check the initData, claim it (once only) and return the account it signs in.

    None when the browser is signed in already as that Telegram user (the Mini App
    reloaded with the same initData): nothing to do, and no replay."""
    data = validate(init_data, bot_token, max_age=max_age, now=now)
    if current is not None and current.is_active and current.telegram_id == data.user.id:
        return None
    await claim(session, data, max_age=max_age)
    user = await user_for(session, data.user, superadmin_ids=superadmin_ids)
    user.last_login_at = utcnow()
    return user
