"""Parsing what GitHub sends (webhook payloads and REST issue objects) into plain data.

Anything malformed raises :class:`MalformedEvent` (the receiver answers 400, nothing
stored); the parsers read only the fields we use, so GitHub adding fields never breaks us.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devops_center.inputs import http_url_or_none
from devops_center.integrations.github.render import bug_id_from_body

PRIORITY_PREFIX = "priority:"


class MalformedEvent(ValueError):
    """A payload that lacks what its event must carry."""


@dataclass(frozen=True)
class IssueData:
    repo: str
    number: int
    title: str
    state: str  # open | closed
    labels: list[str]
    assignee: str | None
    url: str | None
    body: str | None
    created_at: datetime | None
    updated_at: datetime | None
    closed_at: datetime | None
    bug_id: int | None  # from our hidden marker

    @property
    def is_bug(self) -> bool:
        return any(label.lower() == "bug" for label in self.labels)

    @property
    def priority(self) -> str | None:
        """The ``priority:<p>`` label, if any (the first one)."""
        for label in self.labels:
            if label.lower().startswith(PRIORITY_PREFIX):
                return label[len(PRIORITY_PREFIX) :].strip().lower()
        return None

    @property
    def is_critical(self) -> bool:
        return self.priority == "critical" or any(
            label.lower() == "critical" for label in self.labels
        )


@dataclass(frozen=True)
class IssueEvent:
    action: str
    issue: IssueData
    label: str | None  # the label of a labeled/unlabeled action
    changes: dict[str, Any]


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MalformedEvent(f"not a timestamp: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedEvent(f"not a timestamp: {value!r}") from exc
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedEvent(f"{what} must be an object")
    return value


def repo_from_url(url: str) -> str:
    """``owner/name`` from a REST ``repository_url`` (…/repos/owner/name)."""
    _, _, tail = url.partition("/repos/")
    return tail.strip("/")


def parse_issue(raw: Any, *, repo: str | None = None) -> IssueData:
    """An issue object, as in webhooks and in ``GET /repos/{repo}/issues``."""
    issue = _dict(raw, "issue")
    number = issue.get("number")
    title = issue.get("title")
    state = issue.get("state")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise MalformedEvent("issue.number must be a positive integer")
    if not isinstance(title, str):
        raise MalformedEvent("issue.title must be a string")
    if state not in ("open", "closed"):
        raise MalformedEvent("issue.state must be open or closed")
    labels_raw = issue.get("labels") or []
    if not isinstance(labels_raw, list):
        raise MalformedEvent("issue.labels must be a list")
    labels = []
    for label in labels_raw:
        name = label.get("name") if isinstance(label, dict) else label
        if not isinstance(name, str):
            raise MalformedEvent("issue.labels[] needs a name")
        labels.append(name)
    assignee = issue.get("assignee")
    login = _dict(assignee, "issue.assignee").get("login") if assignee else None
    body = issue.get("body")
    if repo is None:
        repo = repo_from_url(str(issue.get("repository_url") or ""))
    return IssueData(
        repo=repo,
        number=number,
        title=title[:500],
        state=state,
        labels=labels,
        assignee=str(login)[:100] if login else None,
        url=http_url_or_none(str(issue.get("html_url") or "")[:500]),
        body=body if isinstance(body, str) else None,
        created_at=parse_time(issue.get("created_at")),
        updated_at=parse_time(issue.get("updated_at")),
        closed_at=parse_time(issue.get("closed_at")),
        bug_id=bug_id_from_body(body if isinstance(body, str) else None),
    )


def is_pull_request(raw: dict[str, Any]) -> bool:
    """The issues endpoints list pull requests too; they carry a ``pull_request`` key."""
    return "pull_request" in raw


def parse_issues_event(payload: Any) -> IssueEvent:
    """An ``issues`` webhook delivery."""
    data = _dict(payload, "payload")
    action = data.get("action")
    if not isinstance(action, str) or not action:
        raise MalformedEvent("action is missing")
    repository = _dict(data.get("repository"), "repository")
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or "/" not in full_name:
        raise MalformedEvent("repository.full_name is missing")
    issue = parse_issue(data.get("issue"), repo=full_name)
    label = data.get("label")
    label_name = _dict(label, "label").get("name") if label else None
    changes = data.get("changes") or {}
    return IssueEvent(
        action=action,
        issue=issue,
        label=str(label_name) if label_name else None,
        changes=changes if isinstance(changes, dict) else {},
    )


@dataclass(frozen=True)
class CommentEvent:
    """A comment on an issue (an ``issue_comment`` delivery, or a listed comment): what
    was said on which issue, by whom."""

    action: str  # created | edited | deleted
    repo: str
    issue_number: int
    issue_bug_id: int | None  # the issue body's hidden marker, when the issue came along
    comment_id: int
    body: str
    login: str
    by_bot: bool  # a GitHub App or bot account, not a person of the team
    created_at: datetime | None


def _comment(action: str, repo: str, number: int, bug_id: int | None, raw: Any) -> CommentEvent:
    comment = _dict(raw, "comment")
    comment_id = comment.get("id")
    if not isinstance(comment_id, int) or isinstance(comment_id, bool) or comment_id <= 0:
        raise MalformedEvent("comment.id must be a positive integer")
    body = comment.get("body")
    user = comment.get("user")
    user = _dict(user, "comment.user") if user else {}
    return CommentEvent(
        action=action,
        repo=repo,
        issue_number=number,
        issue_bug_id=bug_id,
        comment_id=comment_id,
        body=body if isinstance(body, str) else "",
        login=str(user.get("login") or "")[:100],
        by_bot=user.get("type") == "Bot" or bool(comment.get("performed_via_github_app")),
        created_at=parse_time(comment.get("created_at")),
    )


def parse_comment_event(payload: Any) -> CommentEvent | None:
    """An ``issue_comment`` on an issue (None for one on a pull request)."""
    data = _dict(payload, "payload")
    action = data.get("action")
    if not isinstance(action, str) or not action:
        raise MalformedEvent("action is missing")
    repository = _dict(data.get("repository"), "repository")
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or "/" not in full_name:
        raise MalformedEvent("repository.full_name is missing")
    raw_issue = _dict(data.get("issue"), "issue")
    if is_pull_request(raw_issue):
        return None
    issue = parse_issue(raw_issue, repo=full_name)
    return _comment(action, full_name, issue.number, issue.bug_id, data.get("comment"))


def parse_listed_comment(raw: Any) -> CommentEvent:
    """A comment of ``GET /repos/{repo}/issues/comments`` (its issue named by
    ``issue_url``), as a new comment."""
    comment = _dict(raw, "comment")
    url = str(comment.get("issue_url") or "")
    repo_and_issue = repo_from_url(url)
    repo, _, number = repo_and_issue.rpartition("/issues/")
    if not repo or not number.isdigit() or int(number) <= 0:
        raise MalformedEvent("comment.issue_url does not name an issue")
    return _comment("created", repo, int(number), None, comment)


def parse_payload(event: str, payload: Any) -> None:
    """Check a delivery's shape at the door (400 on failure) for the events we parse."""
    _dict(payload, "payload")
    if event == "issues":
        parse_issues_event(payload)
    elif event == "issue_comment":
        _dict(payload.get("issue"), "issue")
    elif event in ("pull_request", "pull_request_review"):
        _dict(payload.get("pull_request"), "pull_request")
