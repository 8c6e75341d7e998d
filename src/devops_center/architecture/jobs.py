"""The worker scans the team's GitHub repository: the tarball of the default branch's head.

``architecture.scan_github`` (:class:`~devops_center.outbox.messages.ScanGithubArchitecture`)
runs daily, on demand ("Scan now" on /admin/architecture) and after a merged pull request
(``changelog.service.from_pull``) — all queued through
:func:`devops_center.architecture.service.enqueue_github_scan`.
The head commit is asked first: when the last scan already has it (and ``force`` is off)
nothing is downloaded. The tarball goes to a temporary directory, only its ``*.py`` files
are unpacked (safely: :mod:`devops_center.architecture.tarball`), parsed in a thread,
stored in one transaction under the repository's name, and the directory is removed.
GitHub's failures and pauses are those of every GitHub job (:mod:`devops_center.github.gateway`).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from devops_center.architecture import service as architecture
from devops_center.architecture import tarball
from devops_center.architecture.models import ArchScan
from devops_center.architecture.parser import ScanError
from devops_center.github import gateway
from devops_center.integrations.github.client import GithubPermanent, GithubRetryable
from devops_center.outbox import messages as m
from devops_center.outbox.registry import (
    JobContext,
    Periodic,
    PermanentFailure,
    handles,
    periodic,
)

log = logging.getLogger("devops_center.architecture")

MAX_TARBALL_BYTES = 100 * 1024 * 1024


@handles(m.ScanGithubArchitecture)
async def scan_github(ctx: JobContext, msg: m.ScanGithubArchitecture) -> None:
    settings = ctx.settings
    if not settings.github_enabled().enabled:
        log.info("architecture scan skipped: %s", settings.github_enabled().why)
        return
    repo = gateway.repo_of(settings)
    async with ctx.sessionmaker() as session:
        paused = await gateway.paused_until(session, settings)
        last_commit = await session.scalar(select(ArchScan.commit_sha).where(ArchScan.name == repo))
    gateway.check_pause(paused)
    try:
        async with gateway.client(settings) as gh:
            branch, sha = await gh.default_branch_head()
            if sha == last_commit and not msg.force:
                log.info("architecture scan of %s: %s unchanged at %s", repo, branch, sha[:12])
                return
            with tempfile.TemporaryDirectory(prefix="dcc-arch-") as tmp:
                archive = Path(tmp) / "source.tar.gz"
                await gh.download_tarball(sha, archive, max_bytes=MAX_TARBALL_BYTES)
                result = await asyncio.to_thread(_unpack_and_scan, archive, Path(tmp) / "src")
    except (GithubRetryable, GithubPermanent) as exc:
        raise await gateway.failed(ctx, exc) from exc
    except (tarball.ArchiveError, ScanError) as exc:
        raise PermanentFailure(f"{repo}@{sha[:12]}: {exc}") from exc
    async with ctx.sessionmaker() as session, session.begin():
        await architecture.store_scan(
            session,
            name=repo,
            result=result,
            source="github",
            location=repo,
            commit_sha=sha,
        )
    log.info(
        "architecture scan of %s@%s: %d modules, %d edges in %.1f s",
        repo,
        sha[:12],
        len(result.tree.modules),
        len(result.tree.edges),
        result.seconds,
    )


def _unpack_and_scan(archive: Path, dest: Path) -> architecture.ScanResult:
    unpacked = tarball.extract_python(archive, dest)
    return architecture.scan_directory(unpacked.root)


periodic(
    Periodic(
        m.ScanGithubArchitecture(),
        every=timedelta(days=1),
        enabled=lambda s: s.github_enabled().enabled,
    )
)
