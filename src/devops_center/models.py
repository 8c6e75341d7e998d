"""Imports every model so that ``Base.metadata`` knows every table (Alembic, tests)."""

from devops_center.apikit.models import IdempotencyRecord, RateWindow
from devops_center.architecture.models import ArchEdge, ArchModule, ArchPackage, ArchScan
from devops_center.brain.models import BrainDocument, BrainQuestion, BrainState
from devops_center.cache import CacheEntry
from devops_center.db import Base
from devops_center.deployments.models import (
    ChangelogEntry,
    CommitFirstDeploy,
    Deployment,
    DeploymentCommit,
    DeploymentDay,
    RollupState,
)
from devops_center.dialogs import BotDialog
from devops_center.github.models import (
    GithubIssue,
    GithubIssueRequest,
    GithubSyncState,
    PullRequest,
    PullRequestFile,
)
from devops_center.incidents.models import Incident
from devops_center.notify.models import SentAlert
from devops_center.outbox.models import Job, WebhookDelivery
from devops_center.processes.models import ProcessHeartbeat
from devops_center.status.models import (
    CheckResult,
    CheckRollup,
    CheckState,
    MaintenanceWindowRow,
    RollupWatermark,
)
from devops_center.support.models import (
    BugDuplicate,
    BugFollower,
    BugLog,
    FaqEntry,
    FaqTranslation,
    FaqVote,
)
from devops_center.users.models import (
    ApiToken,
    AuditLog,
    Invite,
    LoginLink,
    LoginThrottle,
    TelegramInitDataUse,
    User,
    UserSession,
)

__all__ = [
    "ApiToken",
    "ArchEdge",
    "ArchModule",
    "ArchPackage",
    "ArchScan",
    "AuditLog",
    "Base",
    "BotDialog",
    "BrainDocument",
    "BrainQuestion",
    "BrainState",
    "BugDuplicate",
    "BugFollower",
    "BugLog",
    "CacheEntry",
    "ChangelogEntry",
    "CheckResult",
    "CheckRollup",
    "CheckState",
    "CommitFirstDeploy",
    "Deployment",
    "DeploymentCommit",
    "DeploymentDay",
    "FaqEntry",
    "FaqTranslation",
    "FaqVote",
    "GithubIssue",
    "GithubIssueRequest",
    "GithubSyncState",
    "IdempotencyRecord",
    "Incident",
    "Invite",
    "Job",
    "LoginLink",
    "LoginThrottle",
    "MaintenanceWindowRow",
    "ProcessHeartbeat",
    "PullRequest",
    "PullRequestFile",
    "RateWindow",
    "RollupState",
    "RollupWatermark",
    "SentAlert",
    "TelegramInitDataUse",
    "User",
    "UserSession",
    "WebhookDelivery",
]
