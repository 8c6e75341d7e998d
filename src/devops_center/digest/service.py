"""The texts of /morning and /devops, built once for the bot, the daily digest and the CLI.

Every number comes from the service the web dashboard uses (one number, one function): DORA
from ``dora.service.dora_report``, worded by ``dora.presenter`` as on every other channel;
critical bugs from ``support.service.critical_open_bugs``, KPIs from ``kpis.service``.
The texts are Telegram HTML (values escaped).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.config import Settings
from devops_center.db import utcnow
from devops_center.deployments.models import Deployment
from devops_center.dora import presenter as dora_presenter
from devops_center.dora import service as dora
from devops_center.github import breakdown
from devops_center.github import mirror as github_mirror
from devops_center.i18n import format_ago, gettext, lazy
from devops_center.kpis import service as kpis
from devops_center.status import service as status_service
from devops_center.support import service as support

DORA_DAYS = 30
STATE_ICONS = {
    "up": "🟢",
    "down": "🔴",
    "pending": "🟡",
    "maintenance": "🛠",
    "unknown": "⚪",
    "not_configured": "⚫",
}
STATE_WORDS = {  # said beside a system that is neither up nor down
    "pending": lazy("Pending"),
    "maintenance": lazy("Maintenance"),
    "unknown": lazy("not checked yet"),
    "not_configured": lazy("Not configured"),
}


class CheckLike(Protocol):
    """What the digest reads of a check (``status.service.CheckView`` has these)."""

    @property
    def name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def response_ms(self) -> float | None: ...
    @property
    def message(self) -> str | None: ...


@dataclass(frozen=True)
class IssueCounts:
    """The fields of ``github.mirror.IssueCounts`` the digest reads."""

    open: int
    open_critical: int
    open_bugs: int = 0


@dataclass(frozen=True)
class Morning:
    kpis: list[kpis.KpiValue]
    critical_bugs: int
    last_deployment: Deployment | None
    systems: Sequence[CheckLike]
    now: datetime
    product: str | None = None


@dataclass(frozen=True)
class DevOps:
    report: dora.DoraReport | None
    issues: IssueCounts | None
    project: str | None
    systems: Sequence[CheckLike] = field(default_factory=list)
    stages: breakdown.Stages | None = None  # lead time split, from pull requests


# ------------------------------------------------------------------- data sources


async def current_states(session: AsyncSession, settings: Settings) -> Sequence[CheckLike]:
    """The same check views as the status panel on the web (one function for both)."""
    return await status_service.current_states(session, settings)


async def issue_counts(session: AsyncSession, settings: Settings) -> IssueCounts | None:
    """The GitHub mirror's counts, from the function behind the dashboard's panel."""
    if not settings.github_repo:
        return None
    counts = await github_mirror.issue_counts(session, repo=settings.github_repo)
    return IssueCounts(
        open=counts.open, open_critical=counts.open_critical, open_bugs=counts.open_bugs
    )


async def last_deployment(session: AsyncSession) -> Deployment | None:
    stmt = (
        select(Deployment)
        .where(Deployment.status != "in_progress", Deployment.environment == "production")
        .order_by(func.coalesce(Deployment.completed_at, Deployment.started_at).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def morning(
    session: AsyncSession, *, settings: Settings, now: datetime | None = None
) -> Morning:
    _bugs, critical = await support.critical_open_bugs(session, limit=1)
    return Morning(
        kpis=await kpis.evaluate(session, settings=settings),
        critical_bugs=critical,
        last_deployment=await last_deployment(session),
        systems=await current_states(session, settings),
        now=now or utcnow(),
        product=settings.product_name,
    )


async def devops(
    session: AsyncSession, *, settings: Settings, now: datetime | None = None
) -> DevOps:
    try:
        report: dora.DoraReport | None = await dora.dora_report(
            session,
            days=DORA_DAYS,
            now=now or utcnow(),
            tz=settings.timezone,
            cfr_mode=settings.cfr_mode,
        )
    except NotImplementedError:
        report = None
    project = settings.github_repo.split("/", 1)[1] if settings.github_repo else None
    project = settings.product_name or project
    split = await breakdown.lead_time_breakdown(
        session, days=DORA_DAYS, repo=settings.github_repo, now=now, tz=settings.timezone
    )
    return DevOps(
        report=report,
        issues=await issue_counts(session, settings),
        project=project,
        systems=await current_states(session, settings),
        stages=split.window if split.window.pulls else None,
    )


# ------------------------------------------------------------------------ texts


def render_systems(systems: Sequence[CheckLike], lang: str) -> list[str]:
    if not systems:
        return [gettext(lang, "🖥 System status: no checks configured")]
    down = [s for s in systems if s.state == "down"]
    up = [s for s in systems if s.state == "up"]
    if down:
        head = gettext(lang, "🖥 System status: %(n)s down", n=len(down))
    elif len(up) == len(systems):
        head = gettext(lang, "🖥 System status: all %(n)s online", n=len(systems))
    else:
        head = gettext(lang, "🖥 System status: %(up)s of %(n)s online", up=len(up), n=len(systems))
    lines = [head]
    for s in systems:
        # A failing check shows its error, never a response time (of a 500 or a timeout).
        if s.state in ("down", "pending"):
            error = (s.message or "").strip()
            ms = f" · {html.escape(error[:117] + '…' if len(error) > 120 else error)}"
            ms = ms if error else ""
        else:
            ms = f" · {int(s.response_ms)} ms" if s.response_ms is not None else ""
        word = STATE_WORDS.get(s.state)
        said = f" · {gettext(lang, word).lower()}" if word else ""
        lines.append(f"{STATE_ICONS.get(s.state, '⚪')} {html.escape(s.name)}{ms}{said}")
    return lines


def render_morning(data: Morning, lang: str) -> str:
    lines = [gettext(lang, "🌅 Morning overview")]
    if data.product:
        lines[0] += f" · {html.escape(data.product)}"
    for kpi in data.kpis:
        lines.append(f"• {html.escape(kpi.label(lang))}: {html.escape(kpi.display())}")
    lines.append(gettext(lang, "• Critical bugs: %(n)s", n=data.critical_bugs))
    dep = data.last_deployment
    if dep is None:
        lines.append(gettext(lang, "• Last deployment: none yet"))
    else:
        when = dep.completed_at or dep.started_at
        ago = format_ago(when, lang, now=data.now)
        if dep.status == "success":
            lines.append(gettext(lang, "• Last deployment: %(ago)s", ago=ago))
        else:
            lines.append(gettext(lang, "• Last deployment: %(ago)s (failed)", ago=ago))
    lines.append("")
    lines.extend(render_systems(data.systems, lang))
    return "\n".join(lines)


def stages_line(stages: breakdown.Stages, lang: str) -> str:
    """One line of the lead time's stages (medians), e.g. "🔍 Coding 1 d · pickup 3 h …"."""

    def text(value: float | None) -> str:
        return dora_presenter.duration(value, lang) if value is not None else "—"

    return gettext(
        lang,
        "🔍 Coding %(coding)s · pickup %(pickup)s · review %(review)s · deploy %(deploy)s",
        coding=text(stages.coding),
        pickup=text(stages.pickup),
        review=text(stages.review),
        deploy=text(stages.deploy),
    )


def render_devops(data: DevOps, lang: str) -> str:
    title = gettext(lang, "🔥 DevOps dashboard")
    if data.project:
        title += f" {html.escape(data.project)}"
    lines = [title]
    lines.extend(dora_presenter.digest_lines(data.report, lang))
    if data.stages is not None:
        lines.append(stages_line(data.stages, lang))
    if data.issues is None:
        lines.append(gettext(lang, "🐛 GitHub Issues: GitHub is not connected"))
    else:
        lines.append(gettext(lang, "🐛 GitHub Issues:"))
        lines.append(gettext(lang, "• Open: %(n)s", n=data.issues.open))
        lines.append(gettext(lang, "• Critical: %(n)s", n=data.issues.open_critical))
    return "\n".join(lines)


async def morning_text(
    session: AsyncSession, *, settings: Settings, lang: str, now: datetime | None = None
) -> str:
    return render_morning(await morning(session, settings=settings, now=now), lang)


async def devops_text(
    session: AsyncSession, *, settings: Settings, lang: str, now: datetime | None = None
) -> str:
    return render_devops(await devops(session, settings=settings, now=now), lang)


# ------------------------------------------------------------------------- schedule


def morning_key(settings: Settings, now: datetime) -> str | None:
    """The local date once ``DCC_MORNING_AT`` has passed today (in ``DCC_TIMEZONE``)."""
    local = now.astimezone(settings.tz)
    if local.time().replace(tzinfo=None) < settings.morning_at:
        return None
    return local.date().isoformat()
