"""GitHub's job handlers and schedules (the rules live in issues, webhooks and sync)."""

from __future__ import annotations

from datetime import timedelta

from devops_center.github import backfill, issues, pulls, sync, webhooks
from devops_center.outbox import messages as m
from devops_center.outbox.registry import JobContext, Periodic, handles, periodic


@handles(m.CreateGithubIssue)
async def create_issue(ctx: JobContext, msg: m.CreateGithubIssue) -> None:
    await issues.create_issue(ctx, msg.bug_id)


@handles(m.CloseGithubDuplicate)
async def close_duplicate(ctx: JobContext, msg: m.CloseGithubDuplicate) -> None:
    await issues.close_as_duplicate(ctx, msg.bug_id, msg.original_id)


@handles(m.CloseGithubIssueByReporter)
async def close_by_reporter(ctx: JobContext, msg: m.CloseGithubIssueByReporter) -> None:
    await issues.close_for_reporter(ctx, msg.bug_id)


@handles(m.AddGithubScreenshot)
async def add_screenshot(ctx: JobContext, msg: m.AddGithubScreenshot) -> None:
    await issues.add_screenshot(ctx, msg.bug_id)


@handles(m.PostGithubComment)
async def post_comment(ctx: JobContext, msg: m.PostGithubComment) -> None:
    await issues.post_comment(ctx, msg.comment_id)


@handles(m.ProcessGithubDelivery)
async def process_delivery(ctx: JobContext, msg: m.ProcessGithubDelivery) -> None:
    await webhooks.process_delivery(ctx, msg.delivery)


@handles(m.SyncGithubIssues)
async def sync_issues(ctx: JobContext, msg: m.SyncGithubIssues) -> None:
    await sync.sync_issues(ctx)
    await pulls.sync_pulls(ctx)


@handles(m.FetchPullRequestDetails)
async def pull_details(ctx: JobContext, msg: m.FetchPullRequestDetails) -> None:
    await pulls.fetch_details(ctx, msg.number)


@handles(m.BackfillGithubDeployments)
async def backfill_page(ctx: JobContext, msg: m.BackfillGithubDeployments) -> None:
    await backfill.run_page(ctx, msg)


@handles(m.PurgeGithubDeliveries)
async def purge_deliveries(ctx: JobContext, msg: m.PurgeGithubDeliveries) -> None:
    await webhooks.purge_deliveries(ctx)


periodic(
    Periodic(
        m.SyncGithubIssues(),
        key_at=sync.sync_key,
        enabled=lambda s: s.github_enabled().enabled,
    )
)
periodic(Periodic(m.PurgeGithubDeliveries(), every=timedelta(hours=6)))
