"""``changelog.from_pull`` and ``changelog.deployed``: the journal's two writers; and
``changelog.rescore``: task weights from links (``changelog.weights``).

Both read only what is stored (the pull request and its files, fetched by
``github.pull_details``; the deployment and its commits) and are safe to run twice: an
entry is unique per pull request, a bug is told once (``fix_live_at``).
"""

from __future__ import annotations

from devops_center.changelog import service as changelog
from devops_center.changelog import weights
from devops_center.github import gateway
from devops_center.outbox import messages as m
from devops_center.outbox.registry import JobContext, handles


@handles(m.ChangelogFromPull)
async def from_pull(ctx: JobContext, msg: m.ChangelogFromPull) -> None:
    if not ctx.settings.github_repo:
        return
    repo = gateway.repo_of(ctx.settings)
    async with ctx.sessionmaker() as session, session.begin():
        await changelog.from_pull(
            session,
            repo=repo,
            number=msg.number,
            rescan=ctx.settings.github_enabled().enabled,
        )


@handles(m.ChangelogDeployed)
async def deployed(ctx: JobContext, msg: m.ChangelogDeployed) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await changelog.deployed(session, deployment_id=msg.deployment_id)


@handles(m.RescoreImpact)
async def rescore(ctx: JobContext, msg: m.RescoreImpact) -> None:
    issues = [(msg.repo, msg.issue)] if msg.repo and msg.issue else []
    async with ctx.sessionmaker() as session, session.begin():
        await weights.rescore(
            session,
            scan_name=msg.repo or ctx.settings.github_repo,
            bug_ids=[msg.bug_id] if msg.bug_id else [],
            issues=issues,
            everything_open=msg.all_open,
        )
