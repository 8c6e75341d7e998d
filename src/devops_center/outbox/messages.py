"""Every job kind: the contract between the code that enqueues work and the code that
runs it. The handler of each lives in its feature's ``jobs`` module (named below).

Kinds and field names are stored in the job table: rename one only with a migration
that rewrites the queued rows.
"""

from __future__ import annotations

from typing import Literal

from devops_center.outbox.registry import JobMessage, message

# ------------------------------------------------------------------------ GitHub


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


@message("github.process_delivery")
class ProcessGithubDelivery(JobMessage):
    """Run the handler of a stored webhook delivery (``webhook_deliveries.id``)."""

    delivery: int


@message("github.sync_issues")
class SyncGithubIssues(JobMessage):
    """Refresh the mirror of open issues and reconcile linked bugs (periodic, on demand)."""


@message("github.purge_deliveries")
class PurgeGithubDeliveries(JobMessage):
    """Retention of webhook deliveries (periodic)."""


# ------------------------------------------------------------------- deployments


@message("deployments.fetch_commits")
class FetchDeploymentCommits(JobMessage):
    """The commits a finished deployment shipped, from GitHub's compare API."""

    deployment_id: int


# ----------------------------------------------------------------------- support


@message("telegram.fetch_photo")
class FetchBugPhoto(JobMessage):
    """Download the photo a reporter sent the bot and store it as the bug's screenshot."""

    bug_id: int
    file_id: str


@message("support.purge_uploads")
class PurgeOrphanUploads(JobMessage):
    """Remove stored screenshots no bug refers to (a request that failed after storing
    its file, a crash): hourly."""


# ------------------------------------------------------------------ support brain


@message("brain.index")
class IndexBrainDocument(JobMessage):
    """(Re)embed one FAQ entry's brain document, or drop it when the entry is gone
    (``brain.jobs``): what a feature below the brain enqueues in the transaction that
    changes an entry."""

    source: Literal["faq"] = "faq"
    source_id: int


@message("brain.reindex")
class ReindexBrain(JobMessage):
    """Bring every FAQ entry's brain document up to date (demo data, a model change)."""


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

UserEvent = Literal["bug_status", "bug_github_issue", "digest", "photo_failed"]
AdminEvent = Literal[
    "critical_bug", "deployment_finished", "check_down", "check_up", "check_reminder"
]


@message("notify.user")
class NotifyUser(JobMessage):
    """A Telegram message to one user, written in their language when the job runs.

    ``bug_status``: bug_id, old, new; ``bug_github_issue``: bug_id, issue_number;
    ``digest``: day (the morning digest of an admin who opted in); ``photo_failed``:
    bug_id (the photo sent to the bot could not be fetched: filed without it).
    """

    user_id: int
    event: UserEvent
    bug_id: int | None = None
    old: str | None = None
    new: str | None = None
    issue_number: int | None = None
    day: str | None = None


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
    daily, "Scan now", and (later) after a merged pull request. Without ``force`` a head
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
