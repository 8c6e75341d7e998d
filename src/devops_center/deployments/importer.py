"""Importing deployment history from JSON Lines (``dcc deploy import FILE``).

Each line is exactly the body of ``POST /api/v1/deployments`` (commits included),
checked by the same model and registered by the same function
(:func:`devops_center.deployments.registration.record_many`), a batch per transaction.
A line that is refused (bad JSON, a field out of range, a row the database rejects)
is reported with its number and reason and never stops the others; a batch the
database rejects is rolled back whole and registered again line by line, so every
good line of it is stored and nothing of a bad one is. While a batch is written, the
next one is read and parsed; on PostgreSQL the services are written in two lanes at
once (:func:`import_lines`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.deployments.models import Deployment
from devops_center.deployments.registration import default_service, record_many
from devops_center.deployments.schemas import DeploymentIn
from devops_center.errors import DomainError

log = logging.getLogger("devops_center.deployments")

BATCH = 5000  # deployments per transaction on PostgreSQL (two lanes write at once)
# SQLite has one writer and writes every page a transaction dirtied twice (to the WAL,
# then back into the file): bigger transactions dirty each index page once for more
# rows — at 1M lines 25,000 took 221 s against 288 s for 5,000 (2026-12-07).
SQLITE_BATCH = 25_000
LANES = 2  # services written at once on PostgreSQL (two connections, a core each)
_YIELD_EVERY = 64  # lines parsed between turns of the batch being written
SQLITE_CACHE_KIB = 256 * 1024  # the import connection's page cache on SQLite
_COLLECT_EVERY = 50_000  # lines between the import's own garbage collections
SOURCE = "import"


@dataclass(frozen=True)
class Refusal:
    line: int
    reason: str


@dataclass
class Summary:
    """What an import did (or, with ``dry_run``, would do)."""

    lines: int = 0
    imported: int = 0
    updated: int = 0
    refused: list[Refusal] = field(default_factory=list)
    dry_run: bool = False
    seen: set[str] = field(default_factory=set, repr=False)  # a dry run's external ids

    @property
    def accepted(self) -> int:
        return self.imported + self.updated


def explain(exc: ValidationError) -> str:
    """A validation error in one line: ``field: message; …`` (like the API's 422)."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse(text: str | bytes) -> DeploymentIn | str:
    """A line → the deployment, or the reason it is refused."""
    try:
        return DeploymentIn.model_validate_json(text)
    except ValidationError as exc:
        return explain(exc)


def numbered_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes, int]]:
    """(line number, text, bytes read) of the non-blank lines."""
    for number, raw in enumerate(stream, start=1):
        if raw.strip():
            # without its line ending: a cut line reads "EOF while parsing a string",
            # not "control character found" (the newline inside the open string)
            yield number, raw.rstrip(b"\r\n"), len(raw)
        else:
            yield number, b"", len(raw)


def _db_reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return str(exc.message)
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"refused by the database: {text}"[:300]


@dataclass
class _Lane:
    """The lines of some services: the batch being filled and the one being written."""

    batch: list[tuple[int, DeploymentIn]] = field(default_factory=list)
    exts: set[str] = field(default_factory=set)  # the batch's external ids
    consumed: int = 0  # bytes read for the batch
    writing: asyncio.Task[None] | None = None
    writing_exts: set[str] = field(default_factory=set)

    def holds(self, ext: str) -> bool:
        """Whether a line with this external id waits or is being written here."""
        if ext in self.exts:
            return True
        return ext in self.writing_exts and self.writing is not None and not self.writing.done()


def _dialect(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    bind = sessionmaker.kw.get("bind")
    return str(getattr(getattr(bind, "dialect", None), "name", ""))


def lanes_for(sessionmaker: async_sessionmaker[AsyncSession], dry_run: bool) -> int:
    """PostgreSQL writes the services in two lanes at once (two connections): one's
    statements run while Python prepares the other's. SQLite has one writer."""
    return LANES if _dialect(sessionmaker) == "postgresql" and not dry_run else 1


def batch_for(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Deployments per transaction by default: :data:`SQLITE_BATCH` on SQLite, else
    :data:`BATCH`."""
    return SQLITE_BATCH if _dialect(sessionmaker) == "sqlite" else BATCH


async def import_lines(
    sessionmaker: async_sessionmaker[AsyncSession],
    lines: Iterable[tuple[int, bytes, int]],
    *,
    settings: Settings | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    lanes: int | None = None,
) -> Summary:
    """Register the deployments of ``lines`` ((number, text, bytes) as
    :func:`numbered_lines` gives), ``batch_size`` per transaction (default
    :func:`batch_for`). ``progress`` is told the bytes consumed after every batch.

    The services are split between ``lanes`` (default :func:`lanes_for`), each writing
    its batches in file order on a connection of its own while the others write theirs
    and the next lines are parsed. Everything a deployment's registration depends on
    (its service's incidents, first deployments and days) belongs to its service, so
    the lanes give what one by one would — except for a deployment whose line comes
    with another service than it is stored under (moved between services): when its
    external id waits or is being written in another lane, every lane is finished
    first and its line written alone, so no two lanes ever hold one deployment."""
    with _collected_by_batch():
        return await _import_lines(
            sessionmaker,
            lines,
            settings,
            dry_run,
            batch_size or batch_for(sessionmaker),
            progress,
            lanes,
        )


@contextlib.contextmanager
def _collected_by_batch() -> Iterator[None]:
    """The cyclic garbage collector paused for the import, which collects every
    ``_COLLECT_EVERY`` lines itself: a batch holds hundreds of thousands of objects, live
    until it is written, which the automatic collections would scan again and again (a
    quarter of the import's time at 100k lines, measured 2026-12-07); reference counting
    frees everything else as it goes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _import_lines(
    sessionmaker: async_sessionmaker[AsyncSession],
    lines: Iterable[tuple[int, bytes, int]],
    settings: Settings | None,
    dry_run: bool,
    batch_size: int,
    progress: Callable[[int], None] | None,
    lanes: int | None,
) -> Summary:
    summary = Summary(dry_run=dry_run)
    count = lanes if lanes is not None else lanes_for(sessionmaker, dry_run)
    all_lanes = [_Lane() for _ in range(max(1, count))]
    unread = 0  # bytes of blank or refused lines, counted with the next batch

    async def write(lines_: list[tuple[int, DeploymentIn]], size: int) -> None:
        if lines_:
            if dry_run:
                await _check(sessionmaker, lines_, summary)
            else:
                await _store(sessionmaker, lines_, summary, settings)
        if progress is not None:
            progress(size)

    async def flush(lane: _Lane) -> None:
        if lane.writing is not None:
            await lane.writing
        lane.writing = asyncio.create_task(write(lane.batch, lane.consumed))
        lane.writing_exts = lane.exts
        lane.batch, lane.exts, lane.consumed = [], set(), 0

    async def finish_all() -> None:
        for lane in all_lanes:
            if lane.batch or lane.consumed:
                await flush(lane)
        for lane in all_lanes:
            if lane.writing is not None:
                await lane.writing

    def lane_of(data: DeploymentIn) -> _Lane:
        if len(all_lanes) == 1:
            return all_lanes[0]
        service = data.service or default_service(settings)
        return all_lanes[zlib.crc32(service.encode()) % len(all_lanes)]

    try:
        for number, text, size in lines:
            unread += size
            if not text:
                continue
            summary.lines += 1
            if summary.lines % _COLLECT_EVERY == 0:
                gc.collect()
            parsed = parse(text)
            if isinstance(parsed, str):
                summary.refused.append(Refusal(number, parsed))
                continue
            lane = lane_of(parsed)
            ext = parsed.external_id
            alone = False
            if ext is not None and len(all_lanes) > 1:
                alone = any(other.holds(ext) for other in all_lanes if other is not lane)
            if alone:
                await finish_all()  # everything before it is stored first
            lane.batch.append((number, parsed))
            lane.consumed += unread
            unread = 0
            if ext is not None:
                lane.exts.add(ext)
            if alone:
                await flush(lane)
                await finish_all()  # and it is stored before anything after it
            elif len(lane.batch) >= batch_size:
                await flush(lane)
            elif summary.lines % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the batches being written read their replies
        all_lanes[0].consumed += unread  # trailing blank or refused lines
        await finish_all()
    finally:
        for lane in all_lanes:
            if lane.writing is not None and not lane.writing.done():
                lane.writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.writing
    summary.refused.sort(key=lambda r: r.line)
    return summary


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession],
    batch: list[tuple[int, DeploymentIn]],
    summary: Summary,
    settings: Settings | None,
) -> None:
    try:
        async with sessionmaker() as session, session.begin():
            if session.get_bind().dialect.name == "sqlite":
                # SQLite's page cache is 2 MB by default: the history's indexes would be
                # read again from the file system for every batch.
                await session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
            done = await record_many(
                session, [d for _, d in batch], source=SOURCE, settings=settings, announce=False
            )
    except (DBAPIError, IntegrityError, DomainError) as exc:
        if len(batch) == 1:
            summary.refused.append(Refusal(batch[0][0], _db_reason(exc)))
            return
        # Find the line(s) at fault: everything else of the batch is stored one by one.
        log.info("import batch refused (%s); registering its lines one by one", exc)
        for one in batch:
            await _store(sessionmaker, [one], summary, settings)
        return
    for r in done:
        if r.created:
            summary.imported += 1
        else:
            summary.updated += 1


async def _check(
    sessionmaker: async_sessionmaker[AsyncSession],
    batch: list[tuple[int, DeploymentIn]],
    summary: Summary,
) -> None:
    """A dry run: which lines would update a stored deployment (read only)."""
    ids = {d.external_id for _, d in batch if d.external_id is not None}
    known: set[str] = set()
    if ids:
        async with sessionmaker() as session:
            stmt = select(Deployment.external_id).where(Deployment.external_id.in_(list(ids)))
            known = {str(x) for x in (await session.execute(stmt)).scalars()}
    seen = summary.seen
    for _, data in batch:
        ext = data.external_id
        if ext is not None and (ext in known or ext in seen):
            summary.updated += 1
        else:
            summary.imported += 1
        if ext is not None:
            seen.add(ext)
