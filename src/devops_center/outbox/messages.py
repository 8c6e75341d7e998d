"""Every job kind: the contract between the code that enqueues work and the code that
runs it. The handler of each lives in its feature's ``jobs`` module (named below).

Kinds and field names are stored in the job table: rename one only with a migration
that rewrites the queued rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from devops_center.outbox.registry import JobMessage, message

# ------------------------------------------------------------------------ GitHub


@message("github.close_duplicate")
class CloseGithubDuplicate(JobMessage):
    """Close the GitHub issue of a bug merged into ``original_id`` as a duplicate, with a
    "Duplicate of #N" comment (``github.jobs``), once."""

    bug_id: int
    original_id: int


@message("github.close_by_reporter")
class CloseGithubIssueByReporter(JobMessage):
    """The reporter closed their bug (web, API or bot): close its GitHub issue with a
    short comment saying so (``github.jobs``); nothing if the bug was reopened since.
    Written by ``support.close_own_bug``, or by ``support.link_github_issue`` when the
    reporter closed the bug before its issue existed."""

    bug_id: int


@message("github.create_issue")
class CreateGithubIssue(JobMessage):
    """One GitHub issue per bug, exactly once (``github.jobs``). Written by
    ``support.file_bug`` in the bug's transaction, and by the sync for bugs kept
    locally while GitHub was off."""

    bug_id: int


@message("github.add_screenshot")
class AddGithubScreenshot(JobMessage):
    """A screenshot stored after the bug's issue was opened: comment it on the issue."""

    bug_id: int


@message("github.post_comment")
class PostGithubComment(JobMessage):
    """Post a comment written in dcc (the reporter's or the team's, never an internal
    note) to its bug's GitHub issue (``github.jobs``), once: it carries a marker that a
    repeated run finds first, and the comment keeps the id GitHub gave it."""

    comment_id: int


@message("github.process_delivery")
class ProcessGithubDelivery(JobMessage):
    """Run the handler of a stored webhook delivery (``webhook_deliveries.id``)."""

    delivery: int


@message("github.sync_issues")
class SyncGithubIssues(JobMessage):
    """Refresh the mirror of open issues and reconcile linked bugs (periodic, on demand)."""


@message("github.pull_details")
class FetchPullRequestDetails(JobMessage):
    """The full pull request ``number`` of GITHUB_REPO with its commits (first commit
    time), reviews and changed files (``github.pulls``): once per head commit and state."""

    number: int


@message("github.backfill")
class BackfillGithubDeployments(JobMessage):
    """One page of GITHUB_REPO's deployment history (``github.backfill``): workflow runs
    of the deploy workflow, then deployments with their latest status, created in
    [``since``, ``until``), mapped as their webhooks are and registered in one batch.

    The job carries its cursor (``stream``, ``page``, ``upper``) and the run's totals so
    far; the page's transaction enqueues the next page's job and marks this one
    ``page_done`` (a run repeated after a crash changes nothing). ``run`` is the first
    job's id (0 in the first job itself)."""

    since: datetime
    until: datetime | None = None
    dry_run: bool = False
    run: int = 0
    stream: Literal["runs", "deployments"] = "runs"
    page: int = 1
    upper: datetime | None = None  # runs: the window's newest creation time
    page_done: bool = False
    pages: int = 0
    listed: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    refused: int = 0
    last_refusal: str | None = None
    last_error: str | None = None  # the latest failure a page of the run got over


@message("github.purge_deliveries")
class PurgeGithubDeliveries(JobMessage):
    """Retention of webhook deliveries (periodic)."""


# --------------------------------------------------------------------- changelog


@message("changelog.from_pull")
class ChangelogFromPull(JobMessage):
    """A pull request of GITHUB_REPO whose files were just fetched (``changelog.jobs``):
    the bugs whose GitHub issue it closes get its impact score, and a merged one becomes
    its one changelog entry (then the repository is scanned again)."""

    number: int


@message("changelog.rescore")
class RescoreImpact(JobMessage):
    """Recompute task weights from links (``changelog.jobs``, ``changelog.weights``):
    of the bug ``bug_id`` (filed, added to, commented on by its reporter, linked to its
    issue), of the mirrored issue ``repo``#``issue`` (new, or a new body), or — with
    ``all_open`` — of every open bug and open issue (a new architecture scan)."""

    bug_id: int | None = None
    repo: str | None = None
    issue: int | None = None
    all_open: bool = False


@message("changelog.deployed")
class ChangelogDeployed(JobMessage):
    """A successful production deployment whose commits are known (``changelog.jobs``):
    the entries it ships become ``deployed``, and the reporters of the bugs they fix are
    told once that the fix is live."""

    deployment_id: int


# ------------------------------------------------------------------- deployments


@message("deployments.fetch_commits")
class FetchDeploymentCommits(JobMessage):
    """The commits a finished deployment shipped, from GitHub's compare API."""

    deployment_id: int
    # False for history being imported (``dcc github backfill``): not news, so no
    # "what went live" once the commits are known.
    announce: bool = True


# ----------------------------------------------------------------------- support


@message("telegram.fetch_photo")
class FetchBugPhoto(JobMessage):
    """Download the photo a reporter sent the bot and store it as the bug's screenshot."""

    bug_id: int
    file_id: str


@message("telegram.fetch_comment_photo")
class FetchCommentPhoto(JobMessage):
    """A photo sent to the bot to add to a bug (``support.jobs``): download it and add it,
    with its caption, as the sender's comment through ``support.add_comment`` — once,
    by ``client_token``. A photo that cannot be fetched: the caption alone is added (if
    any) and the sender is told (``notify.user`` ``comment_photo_failed``)."""

    bug_id: int
    author_id: int
    file_id: str
    caption: str = ""
    client_token: str


@message("support.purge_uploads")
class PurgeOrphanUploads(JobMessage):
    """Remove stored screenshots no bug refers to (a request that failed after storing
    its file, a crash): hourly."""


# ------------------------------------------------------------------ support brain


@message("brain.index")
class IndexBrainDocument(JobMessage):
    """(Re)embed one FAQ entry's, bug's or changelog entry's brain document, or drop it
    when the source is gone (``brain.jobs``): what a feature below the brain enqueues in
    the transaction that writes the source (a changelog entry: ``indexed_in_brain``
    becomes true once it is embedded)."""

    source: Literal["faq", "bug", "changelog"] = "faq"
    source_id: int


@message("brain.catch_up")
class IndexPendingChangelog(JobMessage):
    """Embed the changelog entries not yet in the brain (``indexed_in_brain`` false):
    every 10 minutes, so an entry written without its ``brain.index`` job still arrives."""


@message("brain.reindex")
class ReindexBrain(JobMessage):
    """Bring every brain document up to date: FAQ entries, bugs, changelog entries (demo
    data, a model change)."""


# ------------------------------------------------------------------------ status


@message("status.schedule")
class ScheduleChecks(JobMessage):
    """Enqueue the probes due in the next scheduling interval (periodic)."""


@message("status.check")
class RunCheck(JobMessage):
    """Probe one configured check and record the result, state change and alert."""

    name: str


@message("status.retention")
class StatusRetention(JobMessage):
    """Fold complete hours of check results into roll-ups; delete old rows (periodic)."""


# ------------------------------------------------------------------ notifications

UserEvent = Literal[
    "bug_status",
    "bug_github_issue",
    "digest",
    "photo_failed",
    "bug_duplicate",
    "followed_status",
    "bug_comment",
    "fix_live",
    "comment_photo_failed",
]
AdminEvent = Literal[
    "critical_bug", "deployment_finished", "check_down", "check_up", "check_reminder"
]


@message("notify.user")
class NotifyUser(JobMessage):
    """A Telegram message to one user, written in their language when the job runs.

    ``bug_status``: bug_id, old, new; ``bug_github_issue``: bug_id, issue_number;
    ``digest``: day (the morning digest of an admin who opted in); ``photo_failed``:
    bug_id (the photo sent to the bot could not be fetched: filed without it);
    ``bug_duplicate``: bug_id, original_id (the reporter's bug was merged into it);
    ``followed_status``: bug_id (the original a follower's report was merged into), new;
    ``bug_comment``: bug_id, comment_id (a reply on a bug the user reported or is
    assigned to); ``fix_live``: bug_id (the deployment that shipped its fix is the bug's
    ``fix_deployment_id``); ``comment_photo_failed``: bug_id, comment_id (the caption
    added without the photo) or none (nothing added).
    """

    user_id: int
    event: UserEvent
    bug_id: int | None = None
    old: str | None = None
    new: str | None = None
    issue_number: int | None = None
    day: str | None = None
    original_id: int | None = None
    comment_id: int | None = None


@message("notify.admin")
class NotifyAdmins(JobMessage):
    """An alert to the admin chat: ``critical_bug`` (bug_id), ``deployment_finished``
    (deployment_id), ``check_down`` / ``check_up`` / ``check_reminder`` (check_name,
    incident_id, message)."""

    event: AdminEvent
    bug_id: int | None = None
    deployment_id: int | None = None
    check_name: str | None = None
    incident_id: int | None = None
    message: str | None = None


@message("notify.chat_commands")
class SetChatCommands(JobMessage):
    """The command menu of one user's chat, after their role or language changed: an
    owner's or superadmin's includes /morning, /devops, /digest; in their language."""

    user_id: int


@message("notify.digest")
class SendDigest(JobMessage):
    """Fan out today's morning digest: one ``notify.user`` per opted-in admin (daily)."""


# ------------------------------------------------------------------------- users


@message("users.purge_sessions")
class PurgeSessions(JobMessage):
    """Delete web sessions past their idle timeout or lifetime, and login throttle keys
    that have forgotten their failures (hourly)."""


# ------------------------------------------------------------------ architecture


@message("architecture.scan_github")
class ScanGithubArchitecture(JobMessage):
    """Scan the module graph of GITHUB_REPO's default branch (``architecture.jobs``):
    daily, "Scan now", and after a merged pull request. Without ``force`` a head
    commit that was scanned already is not downloaded again."""

    force: bool = False


# ---------------------------------------------------------------------- JSON API


@message("api.purge")
class PurgeApiState(JobMessage):
    """Delete idempotency records after a day and spent rate windows (hourly)."""


# -------------------------------------------------------------------- housekeeping


@message("maintenance.purge")
class Purge(JobMessage):
    """Delete finished jobs after a week and expired cache entries (hourly)."""
