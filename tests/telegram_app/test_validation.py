"""The initData check as a library function, against vectors made from Telegram's
documented algorithm (and cross-checked with aiogram's own implementation)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

import pytest
from aiogram.utils.web_app import check_webapp_signature

from devops_center.users.telegram_webapp import InitDataError, validate
from tests.telegram_app.initdata import BOT_TOKEN, make_init_data

MAX_AGE = 3600


def test_a_valid_init_data_names_its_user() -> None:
    raw = make_init_data(extra={"start_param": "bug", "chat_type": "private"})
    assert check_webapp_signature(BOT_TOKEN, raw)  # the same vector for aiogram
    data = validate(raw, BOT_TOKEN, max_age=MAX_AGE)
    assert data.user.id == 279058397
    assert data.user.full_name == "Vladislav Kibenko"
    assert data.user.username == "vdkfrost" and data.user.language_code == "ru"
    assert data.start_param == "bug"
    assert data.hash == dict(parse_qsl(raw))["hash"]


def test_unicode_names_and_a_fixed_clock() -> None:
    raw = make_init_data(
        user={"id": 42, "first_name": "Анна", "last_name": "Ёлкина"}, auth_date=1_700_000_000
    )
    data = validate(raw, BOT_TOKEN, max_age=MAX_AGE, now=1_700_000_100)
    assert data.user.full_name == "Анна Ёлкина" and data.auth_date == 1_700_000_000


@pytest.mark.parametrize("field", ["user", "auth_date", "query_id"])
def test_a_tampered_field_is_refused(field: str) -> None:
    fields = dict(parse_qsl(make_init_data()))
    fields[field] = {
        "user": '{"id":1,"first_name":"Mallory"}',
        "auth_date": str(int(time.time()) - 1),
        "query_id": "AAH-other",
    }[field]
    tampered = urlencode(fields)
    assert not check_webapp_signature(BOT_TOKEN, tampered)
    with pytest.raises(InitDataError) as caught:
        validate(tampered, BOT_TOKEN, max_age=MAX_AGE)
    assert caught.value.reason == "hash mismatch"


def test_an_added_field_or_a_changed_hash_is_refused() -> None:
    raw = make_init_data()
    with pytest.raises(InitDataError):
        validate(raw + "&start_param=admin", BOT_TOKEN, max_age=MAX_AGE)
    fields = dict(parse_qsl(raw))
    fields["hash"] = "0" * 64
    with pytest.raises(InitDataError):
        validate(urlencode(fields), BOT_TOKEN, max_age=MAX_AGE)


def test_another_bots_token_is_refused() -> None:
    raw = make_init_data(bot_token="654321:another-bot")
    with pytest.raises(InitDataError) as caught:
        validate(raw, BOT_TOKEN, max_age=MAX_AGE)
    assert caught.value.reason == "hash mismatch"


def test_an_expired_init_data_is_refused_with_its_own_message() -> None:
    now = time.time()
    raw = make_init_data(auth_date=int(now) - MAX_AGE - 5)
    with pytest.raises(InitDataError) as caught:
        validate(raw, BOT_TOKEN, max_age=MAX_AGE, now=now)
    assert caught.value.reason == "expired"
    assert "expired" in caught.value.message
    # the same data is fine for a longer max age
    assert validate(raw, BOT_TOKEN, max_age=MAX_AGE * 2, now=now).user.id == 279058397


@pytest.mark.parametrize(
    "raw",
    ["", "garbage", "a=1&a=2", "hash=abc", "user=%7B%7D&auth_date=1&hash=" + "0" * 64, "x" * 9000],
)
def test_junk_is_refused_not_crashed(raw: str) -> None:
    with pytest.raises(InitDataError):
        validate(raw, BOT_TOKEN, max_age=MAX_AGE)


def test_a_signed_init_data_without_a_user_is_refused() -> None:
    import hashlib
    import hmac

    fields = {"auth_date": str(int(time.time())), "query_id": "q"}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", BOT_TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    with pytest.raises(InitDataError) as caught:
        validate(urlencode(fields), BOT_TOKEN, max_age=MAX_AGE)
    assert caught.value.reason == "no user"
