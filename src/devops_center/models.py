"""Imports every model so that ``Base.metadata`` knows every table (Alembic, tests)."""

from devops_center.apikit.models import IdempotencyRecord, RateWindow
from devops_center.architecture.models import ArchEdge, ArchModule, ArchPackage, ArchScan
from devops_center.brain.models import BrainDocument, BrainState
from devops_center.cache import CacheEntry
from devops_center.db import Base
from devops_center.deployments.models import ChangelogEntry, Deployment, DeploymentCommit
from devops_center.dialogs import BotDialog
from devops_center.github.models import GithubIssue, GithubIssueRequest, GithubSyncState
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
from devops_center.support.models import BugLog, FaqEntry, FaqTranslation, FaqVote
from devops_center.users.models import (
    ApiToken,
    AuditLog,
    LoginLink,
    LoginThrottle,
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
    "BrainState",
    "BugLog",
    "CacheEntry",
    "ChangelogEntry",
    "CheckResult",
    "CheckRollup",
    "CheckState",
    "Deployment",
    "DeploymentCommit",
    "FaqEntry",
    "FaqTranslation",
    "FaqVote",
    "GithubIssue",
    "GithubIssueRequest",
    "GithubSyncState",
    "IdempotencyRecord",
    "Incident",
    "Job",
    "LoginLink",
    "LoginThrottle",
    "MaintenanceWindowRow",
    "ProcessHeartbeat",
    "RateWindow",
    "RollupWatermark",
    "SentAlert",
    "User",
    "UserSession",
    "WebhookDelivery",
]
