"""Parsing pull requests: webhook payloads (``pull_request``, ``pull_request_review``) and
REST objects (``GET /repos/{o}/{r}/pulls`` and ``…/pulls/{n}``, its commits, reviews and
files) into plain data. Anything malformed raises :class:`MalformedEvent`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devops_center.inputs import http_url_or_none
from devops_center.integrations.github.client import (
    MAX_PAGES,
    PER_PAGE,
    GithubClient,
    GithubPermanent,
)
from devops_center.integrations.github.events import MalformedEvent, parse_time

# GitHub's closing keywords: "Fixes #12", "closes: owner/repo#12", "Resolves <issue URL>".
_CLOSING_RE = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+"
    r"(?:(?P<repo>[\w.-]+/[\w.-]+)#|#|https?://[^\s/]+/(?P<urlrepo>[\w.-]+/[\w.-]+)/issues/)"
    r"(?P<number>\d+)\b",
    re.IGNORECASE,
)


def closed_issues(body: str | None, *, repo: str) -> list[int]:
    """The issue numbers of ``repo`` a pull request body closes, in order, once each."""
    found: list[int] = []
    for match in _CLOSING_RE.finditer(body or ""):
        other = match.group("repo") or match.group("urlrepo")
        if other is not None and other.lower() != repo.lower():
            continue
        number = int(match.group("number"))
        if 0 < number < 2**31 and number not in found:
            found.append(number)
    return found


@dataclass(frozen=True)
class PullData:
    """What a pull request object says. Fields the object lacks are None (a review's
    copy and a listing carry no counts): an update never overwrites with them."""

    repo: str
    number: int
    title: str
    body: str | None
    author_login: str | None
    state: str  # open | closed | merged
    draft: bool
    base_ref: str | None
    head_ref: str | None
    head_sha: str | None
    merge_commit_sha: str | None
    additions: int | None
    deletions: int | None
    changed_files: int | None
    labels: list[str]
    url: str | None
    opened_at: datetime | None
    merged_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime | None

    @property
    def closes(self) -> list[int]:
        return closed_issues(self.body, repo=self.repo)


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedEvent(f"{what} must be an object")
    return value


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _sha(value: Any) -> str | None:
    return value[:40] if isinstance(value, str) and len(value) >= 7 else None


def _login(value: Any) -> str | None:
    login = value.get("login") if isinstance(value, dict) else None
    return str(login)[:100] if isinstance(login, str) and login else None


def repo_of_payload(payload: Any) -> str:
    repository = _dict(_dict(payload, "payload").get("repository"), "repository")
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or "/" not in full_name:
        raise MalformedEvent("repository.full_name is missing")
    return full_name


def parse_pull(raw: Any, *, repo: str) -> PullData:
    """A pull request object, as in webhooks and the REST API."""
    pr = _dict(raw, "pull_request")
    number = pr.get("number")
    title = pr.get("title")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise MalformedEvent("pull_request.number must be a positive integer")
    if not isinstance(title, str):
        raise MalformedEvent("pull_request.title must be a string")
    state = pr.get("state")
    if state not in ("open", "closed"):
        raise MalformedEvent("pull_request.state must be open or closed")
    merged_at = parse_time(pr.get("merged_at"))
    if state == "closed" and (merged_at is not None or pr.get("merged") is True):
        state = "merged"
    labels = []
    for label in pr.get("labels") or []:
        name = label.get("name") if isinstance(label, dict) else label
        if isinstance(name, str):
            labels.append(name[:100])
    head: dict[str, Any] = pr["head"] if isinstance(pr.get("head"), dict) else {}
    base: dict[str, Any] = pr["base"] if isinstance(pr.get("base"), dict) else {}
    body = pr.get("body")
    return PullData(
        repo=repo,
        number=number,
        title=title[:500],
        body=body if isinstance(body, str) else None,
        author_login=_login(pr.get("user")),
        state=state,
        draft=pr.get("draft") is True,
        base_ref=str(base["ref"])[:255] if isinstance(base.get("ref"), str) else None,
        head_ref=str(head["ref"])[:255] if isinstance(head.get("ref"), str) else None,
        head_sha=_sha(head.get("sha")),
        # GitHub fills merge_commit_sha with a test merge while the PR is open.
        merge_commit_sha=_sha(pr.get("merge_commit_sha")) if state == "merged" else None,
        additions=_count(pr.get("additions")),
        deletions=_count(pr.get("deletions")),
        changed_files=_count(pr.get("changed_files")),
        labels=labels,
        url=http_url_or_none(str(pr.get("html_url") or "")[:500]),
        opened_at=parse_time(pr.get("created_at")),
        merged_at=merged_at,
        closed_at=parse_time(pr.get("closed_at")),
        updated_at=parse_time(pr.get("updated_at")),
    )


@dataclass(frozen=True)
class ReviewData:
    reviewer: str | None
    state: str  # approved | changes_requested | commented | dismissed | pending
    submitted_at: datetime | None


def parse_review(raw: Any) -> ReviewData:
    """A review object (webhook ``review`` or an item of ``GET …/pulls/{n}/reviews``)."""
    review = _dict(raw, "review")
    state = review.get("state")
    if not isinstance(state, str):
        raise MalformedEvent("review.state must be a string")
    return ReviewData(
        reviewer=_login(review.get("user")),
        state=state.lower(),
        submitted_at=parse_time(review.get("submitted_at")),
    )


def first_commit_time(commits: list[dict[str, Any]]) -> datetime | None:
    """The oldest author date of a pull request's commits (``GET …/pulls/{n}/commits``)."""
    times = []
    for item in commits:
        commit: dict[str, Any] = item["commit"] if isinstance(item.get("commit"), dict) else {}
        for who in ("author", "committer"):
            person = commit.get(who)
            if isinstance(person, dict) and person.get("date"):
                try:
                    moment = parse_time(person.get("date"))
                except MalformedEvent:
                    continue
                if moment is not None:
                    times.append(moment)
                    break
    return min(times) if times else None


@dataclass(frozen=True)
class FileData:
    path: str
    status: str | None
    additions: int
    deletions: int


def parse_files(items: list[dict[str, Any]]) -> list[FileData]:
    """The changed files (``GET …/pulls/{n}/files``); a path once (the last word wins)."""
    files: dict[str, FileData] = {}
    for item in items:
        path = item.get("filename")
        if not isinstance(path, str) or not path or len(path) > 1000:
            continue
        status = item.get("status")
        files[path] = FileData(
            path=path,
            status=str(status)[:20] if isinstance(status, str) else None,
            additions=_count(item.get("additions")) or 0,
            deletions=_count(item.get("deletions")) or 0,
        )
    return list(files.values())


# ------------------------------------------------------------------- REST calls
# Each takes an open GithubClient (one connection pool per job run); pagination follows
# GitHub's Link headers on GITHUB_API_URL's host only, and every call raises the client's
# GithubRetryable (rate limits with GitHub's wait) or GithubPermanent.

MAX_FILE_PAGES = 30  # GitHub lists at most 3000 files of a pull request
MAX_COMMIT_PAGES = 3  # … and at most 250 commits


async def get_pull(gh: GithubClient, number: int) -> dict[str, Any] | None:
    """One pull request with its counts, or None when it is gone."""
    try:
        data = (await gh.request("GET", f"/repos/{gh.repo}/pulls/{number}")).json()
    except GithubPermanent as exc:
        if exc.status in (404, 410):
            return None
        raise
    return data if isinstance(data, dict) else None


async def _list(gh: GithubClient, path: str, *, max_pages: int) -> list[dict[str, Any]]:
    response = await gh.request("GET", path, params={"per_page": PER_PAGE})
    return await gh._paginate(response, max_pages=max_pages)


async def pull_commits(gh: GithubClient, number: int) -> list[dict[str, Any]]:
    return await _list(gh, f"/repos/{gh.repo}/pulls/{number}/commits", max_pages=MAX_COMMIT_PAGES)


async def pull_reviews(gh: GithubClient, number: int) -> list[dict[str, Any]]:
    return await _list(gh, f"/repos/{gh.repo}/pulls/{number}/reviews", max_pages=MAX_PAGES)


async def pull_files(gh: GithubClient, number: int) -> list[dict[str, Any]]:
    return await _list(gh, f"/repos/{gh.repo}/pulls/{number}/files", max_pages=MAX_FILE_PAGES)


async def pulls_updated_since(
    gh: GithubClient, since: datetime | None, *, max_pages: int = MAX_PAGES
) -> list[dict[str, Any]]:
    """Pull requests (any state) updated at or after ``since``, newest first: pages are
    read until one reaches older ones (every page without ``since``, up to ``max_pages``)."""
    response = await gh.request(
        "GET",
        f"/repos/{gh.repo}/pulls",
        params={"state": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE},
    )
    items: list[dict[str, Any]] = []
    for _ in range(max_pages):
        page = response.json()
        if not isinstance(page, list):
            raise GithubPermanent("GitHub answered a listing with something else than a list")
        older = False
        for item in page:
            if not isinstance(item, dict):
                continue
            updated = parse_time(item.get("updated_at"))
            if since is not None and updated is not None and updated < since:
                older = True
                break
            items.append(item)
        nxt = response.links.get("next", {}).get("url")
        if older or not nxt or not gh._same_origin(nxt):
            break
        response = await gh.request("GET", nxt)
    return items
