"""Reading the changelog journal: the filtered list (API, /admin/changelog), one entry,
the components, "What's new" on /support, the owner's user-facing lines, and what touched
a module (its page, the graph's churn colouring). Writing entries from pull requests and
deployments lives in :mod:`devops_center.changelog.service`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.architecture.models import ArchScan
from devops_center.changelog import rules
from devops_center.changelog.impact import bugs_closed_by, touched
from devops_center.db import Page, utcnow
from devops_center.deployments.models import ChangelogEntry
from devops_center.errors import Invalid, NotFound
from devops_center.github.models import PullRequest, PullRequestFile
from devops_center.i18n import lazy
from devops_center.support.models import BugLog
from devops_center.users import auditlog

STATUSES = ("merged", "deployed")
USER_LINE_MAX = 300


@dataclass(frozen=True)
class EntryFilter:
    component: str | None = None
    change_type: str | None = None
    status: str | None = None
    date_from: date | None = None  # inclusive, UTC days
    date_to: date | None = None  # inclusive


def _conditions(f: EntryFilter) -> list[Any]:
    conds: list[Any] = []
    if f.component:
        conds.append(ChangelogEntry.component == f.component)
    if f.change_type:
        conds.append(ChangelogEntry.change_type == f.change_type)
    if f.status:
        conds.append(ChangelogEntry.status == f.status)
    if f.date_from is not None:
        conds.append(ChangelogEntry.date >= _day_start(f.date_from))
    if f.date_to is not None:
        conds.append(ChangelogEntry.date < _day_start(f.date_to) + timedelta(days=1))
    return conds


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def validate_filter(
    *,
    component: str | None,
    change_type: str | None,
    status: str | None,
    date_from: date | None,
    date_to: date | None,
) -> EntryFilter:
    """Clean filters, or a clear 4xx: an unknown type or status, a range ending first."""
    if change_type and change_type not in rules.CHANGE_TYPES:
        message = lazy("Unknown change type")
        raise Invalid(message, fields={"type": message})
    if status and status not in STATUSES:
        message = lazy("Unknown status")
        raise Invalid(message, fields={"status": message})
    if date_from and date_to and date_to < date_from:
        message = lazy("The end date is before the start date")
        raise Invalid(message, fields={"date_to": message})
    return EntryFilter(
        component=(component or "").strip()[:100] or None,
        change_type=change_type or None,
        status=status or None,
        date_from=date_from,
        date_to=date_to,
    )


async def list_entries(
    session: AsyncSession, *, filters: EntryFilter, page: int = 1, per_page: int = 50
) -> Page[ChangelogEntry]:
    """Newest first."""
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    conds = _conditions(filters)
    total = int(
        await session.scalar(select(func.count()).select_from(ChangelogEntry).where(*conds)) or 0
    )
    rows = await session.execute(
        select(ChangelogEntry)
        .where(*conds)
        .order_by(ChangelogEntry.date.desc(), ChangelogEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(rows.scalars()), total, page, per_page)


async def components(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(ChangelogEntry.component)
        .where(ChangelogEntry.component.is_not(None))
        .distinct()
        .order_by(ChangelogEntry.component)
    )
    return [c for c in rows if c]


async def get_entry(session: AsyncSession, entry_id: int) -> ChangelogEntry:
    entry = await session.get(ChangelogEntry, entry_id)
    if entry is None:
        raise NotFound(lazy("No such changelog entry"))
    return entry


def user_line(entry: ChangelogEntry, lang: str) -> str:
    """What users read about an entry: the owner's line in their language, else the other
    language's, else the title without its prefix."""
    mine = entry.user_line_ru if lang == "ru" else entry.user_line_en
    other = entry.user_line_en if lang == "ru" else entry.user_line_ru
    title = entry.description.split("\n", 1)[0]
    return mine or other or rules.strip_prefix(title)


async def whats_new(session: AsyncSession, *, limit: int = 8) -> list[ChangelogEntry]:
    """The newest user-visible entries (features and fixes) for /support."""
    rows = await session.execute(
        select(ChangelogEntry)
        .where(ChangelogEntry.change_type.in_(rules.USER_VISIBLE))
        .order_by(
            func.coalesce(ChangelogEntry.deployed_at, ChangelogEntry.date).desc(),
            ChangelogEntry.id.desc(),
        )
        .limit(limit)
    )
    return list(rows.scalars())


async def set_user_lines(
    session: AsyncSession, *, entry_id: int, ru: str | None, en: str | None, actor_id: int | None
) -> ChangelogEntry:
    """An owner's user-facing line in Russian and English ("" clears one)."""
    cleaned: dict[str, str | None] = {}
    for lang, value in (("ru", ru), ("en", en)):
        text = " ".join((value or "").split())
        if len(text) > USER_LINE_MAX:
            message = lazy("At most 300 characters")
            raise Invalid(message, fields={f"user_line_{lang}": message})
        cleaned[lang] = text or None
    entry = await get_entry(session, entry_id)
    changes = {}
    if entry.user_line_ru != cleaned["ru"]:
        changes["user_line_ru"] = [entry.user_line_ru, cleaned["ru"]]
        entry.user_line_ru = cleaned["ru"]
    if entry.user_line_en != cleaned["en"]:
        changes["user_line_en"] = [entry.user_line_en, cleaned["en"]]
        entry.user_line_en = cleaned["en"]
    if changes:
        await auditlog.audit(
            session,
            actor_id=actor_id,
            entity="changelog",
            entity_id=entry.id,
            action="update",
            details=changes,
        )
    return entry


async def entries_touching(
    session: AsyncSession, *, paths: list[str], limit: int = 20
) -> list[ChangelogEntry]:
    """The newest entries whose pull request changed one of ``paths``."""
    if not paths:
        return []
    rows = await session.execute(
        select(ChangelogEntry)
        .join(PullRequestFile, PullRequestFile.pull_request_id == ChangelogEntry.pull_request_id)
        .where(PullRequestFile.path.in_(paths))
        .distinct()
        .order_by(ChangelogEntry.date.desc(), ChangelogEntry.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


def _module_paths(module_path: str) -> list[str]:
    # a local scan of src/ names "pkg/mod.py"; a pull request "src/pkg/mod.py"
    return [module_path, f"src/{module_path}"]


@dataclass(frozen=True)
class ModuleChanges:
    entries: list[ChangelogEntry]
    open_bugs: list[BugLog]


async def module_changes(session: AsyncSession, *, module_path: str) -> ModuleChanges:
    """The changelog entries whose pull requests changed a module, and the open bugs
    whose GitHub issue a pull request changing it closes (merged or not yet)."""
    paths = _module_paths(module_path)
    entries = await entries_touching(session, paths=paths)
    closes = await session.scalars(
        select(PullRequest.closes)
        .join(PullRequestFile, PullRequestFile.pull_request_id == PullRequest.id)
        .where(PullRequestFile.path.in_(paths), PullRequest.state != "closed")
    )
    numbers = sorted({n for row in closes for n in (row or [])})
    bugs = [
        b for b in await bugs_closed_by(session, numbers) if b.status in ("open", "in_progress")
    ]
    return ModuleChanges(entries, bugs)


async def churn(session: AsyncSession, *, scan: ArchScan, days: int = 30) -> dict[str, int]:
    """Lines changed per module of ``scan`` by the entries of the last ``days`` days (the
    architecture graph's "recent change" colour)."""
    since = utcnow() - timedelta(days=days)
    rows = await session.execute(
        select(PullRequestFile.path, PullRequestFile.additions + PullRequestFile.deletions)
        .join(ChangelogEntry, ChangelogEntry.pull_request_id == PullRequestFile.pull_request_id)
        .where(ChangelogEntry.date >= since)
    )
    files = [(path, int(n or 0)) for path, n in rows]
    return {t.name: t.changed for t in await touched(session, scan, files)}


@dataclass(frozen=True)
class NewsLine:
    """One line of "What's new": what users read, and when it went live (or merged)."""

    text: str
    change_type: str
    live: bool
    when: datetime


async def news(session: AsyncSession, *, lang: str, limit: int = 8) -> list[NewsLine]:
    return [
        NewsLine(
            text=user_line(e, lang),
            change_type=e.change_type or "other",
            live=e.status == "deployed",
            when=e.deployed_at or e.date,
        )
        for e in await whats_new(session, limit=limit)
    ]
