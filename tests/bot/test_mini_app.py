"""The bot opens the hub as a Telegram Mini App: menu button and "Open support hub"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from devops_center import worker
from devops_center.users import service as users
from devops_center.users import team
from devops_center.users.models import AuditLog, Invite, User
from tests.bot.standin import StandIn, TgUser

APP_URL = "https://hub.example.com/tg/app"


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"base_url": "https://hub.example.com"}


async def test_the_menu_button_is_set_at_the_bots_start(bot, standin: StandIn) -> None:
    call = standin.sent(method="setChatMenuButton")[-1]
    assert call.params["menu_button"] == {
        "type": "web_app",
        "text": "Support hub",
        "web_app": {"url": APP_URL},
    }
    assert "chat_id" not in call.params  # everyone's default


async def test_start_has_an_open_support_hub_button(bot, ann: TgUser) -> None:
    reply = await ann.ask("/start", "I am the support bot")
    assert reply.buttons()[0] == ("📱 Open support hub", APP_URL)
    assert reply.params["reply_markup"]["inline_keyboard"][0][0]["web_app"] == {"url": APP_URL}


async def test_a_chats_menu_button_follows_its_language(
    settings, sessionmaker, standin: StandIn
) -> None:
    async with sessionmaker() as s, s.begin():
        user = await users.create_user(s, name="Olga", telegram_id=906, language="en")
    async with sessionmaker() as s, s.begin():
        await users.set_language(s, user_id=user.id, language="ru")
    await worker.drain(settings, sessionmaker, kinds=["notify.chat_commands"])
    call = standin.sent(method="setChatMenuButton")[-1]
    assert call.params["chat_id"] == 906
    assert call.params["menu_button"]["text"] == "Поддержка"
    assert call.params["menu_button"]["web_app"] == {"url": APP_URL}


async def test_a_telegram_invite_makes_a_manager(
    bot, ann: TgUser, sessionmaker, people: dict[str, User]
) -> None:
    async with sessionmaker() as s, s.begin():
        _invite, token = await team.create_invite(
            s, channel="telegram", role="manager", actor_id=people["owner"].id
        )
    reply = await ann.ask(f"/start {team.INVITE_PAYLOAD}{token}", "Welcome to the team")
    assert "Manager" in reply.text
    async with sessionmaker() as s:
        user = (await s.execute(select(User).where(User.telegram_id == ann.id))).scalar_one()
        assert user.role == "manager"
        invite = (await s.execute(select(Invite))).scalar_one()
        assert invite.used_by == user.id
        actions = [(a.entity, a.action) for a in (await s.execute(select(AuditLog))).scalars()]
    assert ("invite", "accept") in actions and ("user", "set_role") in actions
    again = await ann.ask(f"/start {team.INVITE_PAYLOAD}{token}", "invalid, used or expired")
    assert again.text


async def test_without_https_there_is_no_mini_app(
    bot_overrides: dict[str, Any],
) -> None:
    from devops_center.config import get_settings
    from devops_center.notify.links import menu_button, mini_app_url

    plain = get_settings(
        database_url="sqlite+aiosqlite://",
        telegram_bot_token="1:x",
        base_url="http://127.0.0.1:8001",
        config_file=None,
        checks=[],
    )
    assert mini_app_url(plain) is None
    assert menu_button(plain, "en") == {"type": "default"}
