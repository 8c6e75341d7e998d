"""Imports every model so that ``Base.metadata`` knows every table (Alembic, tests)."""

from devops_center.db import Base
from devops_center.deployments.models import ChangelogEntry, Deployment, DeploymentCommit
from devops_center.incidents.models import Incident
from devops_center.integrations.github.models import GithubIssue
from devops_center.outbox.models import Job, KeyValue, WebhookDelivery
from devops_center.status.models import CheckResult, CheckRollup, CheckState
from devops_center.support.models import BugLog, FaqEntry, FaqVote
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
    "AuditLog",
    "Base",
    "BugLog",
    "ChangelogEntry",
    "CheckResult",
    "CheckRollup",
    "CheckState",
    "Deployment",
    "DeploymentCommit",
    "FaqEntry",
    "FaqVote",
    "GithubIssue",
    "Incident",
    "Job",
    "KeyValue",
    "LoginLink",
    "LoginThrottle",
    "User",
    "UserSession",
    "WebhookDelivery",
]
