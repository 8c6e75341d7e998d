"""The shape of a deployment as CI sends it (``POST /api/v1/deployments``, ``dcc deploy``).

One pydantic model, used by the JSON API (and so documented in OpenAPI), the webhook
translators and the demo data. Every value that reaches the database is checked here:
sizes fit the columns, strings carry no NUL bytes, timestamps are real UTC instants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from devops_center.deployments.models import FAILURE_REASON_MAX
from devops_center.inputs import check_http_url, utc_within

DeployStatus = Literal["in_progress", "success", "failed", "rolled_back"]
DeployKind = Literal["normal", "rollback", "hotfix"]

FINAL_STATUSES = ("success", "failed", "rolled_back")
MAX_INT = 2_147_483_647
MIN_YEAR, MAX_YEAR = 2000, 2100


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if value.isascii():
        return value  # no lone surrogates in it (the common case, O(1))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


_NUMBERS = (bool, int, float)


def _timestamp_text(value: Any) -> Any:
    """JSON carries timestamps as ISO 8601 strings: numbers are refused, not guessed."""
    if isinstance(value, _NUMBERS):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


_utc = utc_within(MIN_YEAR, MAX_YEAR)


# The length is checked by pydantic-core before the text (a constraint after a Python
# validator would run in Python: a call per field of every imported line).
Message = Annotated[str, Field(max_length=10_000), AfterValidator(_clean_text)]
Author = Annotated[str, Field(max_length=200), AfterValidator(_clean_text)]
TriggeredBy = Annotated[str, Field(max_length=100), AfterValidator(_clean_text)]
Reason = Annotated[str, Field(max_length=FAILURE_REASON_MAX), AfterValidator(_clean_text)]
UtcDateTime = Annotated[datetime, BeforeValidator(_timestamp_text), AfterValidator(_utc)]
Sha = Annotated[
    str,
    Field(pattern=r"^[0-9a-fA-F]{7,40}$", description="Git commit SHA, 7–40 hex digits"),
    StringConstraints(to_lower=True),  # lowered by pydantic-core, no Python call
]
Count = Annotated[int, Field(ge=0, le=MAX_INT, strict=True)]


class CommitIn(BaseModel):
    """A commit shipped by the deployment, with its time (for change lead time)."""

    model_config = ConfigDict(extra="forbid")

    sha: Sha
    committed_at: UtcDateTime
    message: Message | None = None
    author: Author | None = None


class DeploymentIn(BaseModel):
    """A deployment as CI reports it. The same ``external_id`` again updates the row."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "commit_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
                    "commit_message": "fix: close shift on slow networks",
                    "started_at": "2026-11-28T10:00:00Z",
                    "completed_at": "2026-11-28T10:04:12Z",
                    "status": "success",
                    "triggered_by": "github-actions",
                    "tests_passed": 212,
                    "tests_failed": 0,
                    "environment": "production",
                    "service": "staffprobot-web",
                    "kind": "normal",
                    "external_id": "6512345678-1",
                }
            ]
        },
    )

    commit_sha: Sha
    commit_message: Message | None = None
    started_at: UtcDateTime
    completed_at: UtcDateTime | None = Field(
        default=None,
        description="Required unless status is in_progress; not before started_at. "
        "Timestamps are ISO 8601 between the years 2000 and 2100.",
    )
    status: DeployStatus
    triggered_by: TriggeredBy | None = None
    tests_passed: Count | None = None
    tests_failed: Count | None = None
    environment: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,49}$")] = "production"
    service: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/@-]{0,99}$")] | None = Field(
        default=None, description="Default: the repository name (GITHUB_REPO)."
    )
    kind: DeployKind = "normal"
    external_id: (
        Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")] | None
    ) = Field(default=None, description="e.g. <run_id>-<run_attempt>; repeats update the row")
    url: (
        Annotated[
            str,
            Field(
                max_length=500,
                json_schema_extra={"pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+"},
                description="A link to the run or release: http:// or https:// only",
            ),
            AfterValidator(_clean_text),
            AfterValidator(check_http_url),  # shown as a link: no javascript:
        ]
        | None
    ) = None
    commits: Annotated[list[CommitIn], Field(max_length=1000)] | None = Field(
        default=None, description="Deployed commits; omitted → the worker asks GitHub."
    )
    failure_reason: Annotated[
        Reason | None,
        BeforeValidator(_blank_is_none),
    ] = Field(
        default=None,
        description="Why a failed or rolled_back deployment failed (at most "
        f"{FAILURE_REASON_MAX} characters; blank = none). Only with those statuses.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DeploymentIn:
        if self.failure_reason is not None and self.status not in ("failed", "rolled_back"):
            raise ValueError("failure_reason is only for failed or rolled_back deployments")
        if self.status != "in_progress" and self.completed_at is None:
            raise ValueError("completed_at is required unless status is in_progress")
        if self.completed_at is not None and self.completed_at < self.started_at:
            raise ValueError("completed_at must not be before started_at")
        return self

    @property
    def duration_seconds(self) -> int | None:
        if self.completed_at is None:
            return None
        return min(int((self.completed_at - self.started_at).total_seconds()), MAX_INT)


class DeploymentOut(BaseModel):
    """A stored deployment."""

    id: int
    commit_sha: str
    commit_message: str | None
    started_at: datetime
    completed_at: datetime | None
    status: str
    duration_seconds: int | None
    triggered_by: str | None
    tests_passed: int | None
    tests_failed: int | None
    environment: str
    service: str
    kind: str
    external_id: str | None
    source: str
    url: str | None
    failure_reason: str | None = Field(
        default=None, description="Why it failed, as the pipeline said (failed/rolled_back)"
    )
    commits: int = Field(description="How many commits are known for this deployment")

    @classmethod
    def from_row(cls, row: Any, commits: int) -> DeploymentOut:
        return cls(
            id=row.id,
            commit_sha=row.commit_sha,
            commit_message=row.commit_message,
            started_at=row.started_at,
            completed_at=row.completed_at,
            status=row.status,
            duration_seconds=row.duration_seconds,
            triggered_by=row.triggered_by,
            tests_passed=row.tests_passed,
            tests_failed=row.tests_failed,
            environment=row.environment,
            service=row.service,
            kind=row.kind,
            external_id=row.external_id,
            source=row.source,
            url=row.url,
            failure_reason=row.failure_reason,
            commits=commits,
        )
