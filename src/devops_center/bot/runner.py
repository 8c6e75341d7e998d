"""Running the Telegram bot (long polling or webhook). Filled in by the bot feature."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings

log = logging.getLogger("devops_center.bot")


async def run_bot(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event
) -> None:
    log.warning("the Telegram bot is not implemented in this build; waiting for shutdown")
    await stop.wait()
