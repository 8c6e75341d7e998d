"""One router per feature, in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from devops_center.bot.handlers import (
    admin,
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
    # cancel first (it must win over any dialog step); fallback last.
    specs = [cancel, start, admin, bug, faq, mybugs, weblink, language, fallback]
    return [module.router.build() for module in specs]
