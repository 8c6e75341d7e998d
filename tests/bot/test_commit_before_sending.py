"""Replies tell only what is stored, and no update waits for another's Telegram round trip.

The stand-in Bot API server answers every method after a network round trip here, as the
real Telegram does from a server.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from devops_center.support.models import BugLog
from tests.bot.standin import StandIn, TgUser
from tests.bot.test_bug_dialog import advance

ROUND_TRIP = 0.4  # seconds


async def test_the_bug_number_is_stored_when_the_reply_reaches_the_user(
    bot, standin: StandIn, ann: TgUser, sessionmaker
) -> None:
    await advance(ann, 6)
    standin.latency = ROUND_TRIP
    summary = standin.sent(ann.id)[-1]
    thanks = await ann.tap(summary, "Submit", "Thank you")
    # The handler is still waiting for Telegram (this answer, the callback answer, the
    # keyboard removal); the bug it announced must already be committed.
    number = int(thanks.text.split("bug #")[1].split(".")[0])
    async with sessionmaker() as s:
        bug = await s.get(BugLog, number)
    assert bug is not None and bug.title == "Login fails"
    await bot.settle()


async def test_updates_of_different_chats_do_not_wait_for_each_others_replies(
    bot, standin: StandIn, sessionmaker
) -> None:
    people = [TgUser(standin, 7_100_000 + i, first_name=f"P{i}") for i in range(5)]
    await asyncio.gather(*(p.ask("/start", "Hello") for p in people))
    standin.latency = ROUND_TRIP
    marks = [p.mark() for p in people]
    await asyncio.gather(*(p.send_text("/bug") for p in people))
    replies = await asyncio.gather(
        *(p.reply("Step 1 of 6", after=m, timeout=20) for p, m in zip(people, marks, strict=True))
    )
    arrived = sorted(r.at for r in replies)
    # Had one update kept the database (the SQLite turn) while Telegram answered, the five
    # replies would arrive a round trip apart: 1.6 s from the first to the last.
    assert arrived[-1] - arrived[0] < ROUND_TRIP
    await bot.settle()
    async with sessionmaker() as s:
        assert (await s.execute(select(BugLog))).first() is None
