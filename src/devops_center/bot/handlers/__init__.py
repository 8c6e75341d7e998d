"""One router per feature, in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from devops_center.bot.handlers import (
    admin,
    ask,
    bug,
    cancel,
    fallback,
    faq,
    language,
    mybugs,
    start,
    weblink,
)


def routers() -> list[Router]:
    """The feature routers: /cancel first (it wins over any dialog step), fallback last.

    A Router belongs to one Dispatcher; a bot started again in the same process (the
    tests, a restarted embedded server) builds a new Dispatcher, so each router is
    released from the previous one here (aiogram has no public way to detach one).
    """
    found = [
        m.router for m in (cancel, start, admin, bug, faq, mybugs, weblink, language, ask, fallback)
    ]
    for router in found:
        parent = router.parent_router
        if parent is not None:
            parent.sub_routers.remove(router)
            router._parent_router = None
    return found
