"""The commits a deployment shipped, from GitHub's REST API (for change lead time).

``GET /repos/{repo}/compare/{base}...{head}`` between the previous successful deployment
and this one, or ``GET /repos/{repo}/commits/{sha}`` for a service's first deployment
(its head commit only, never the whole history). Plain httpx against
``GITHUB_API_URL`` with ``GITHUB_TOKEN``; errors become :class:`GithubError` subclasses
that the job turns into retries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 10  # GitHub lists at most 250 commits through compare (paged since 2023)


class GithubError(Exception):
    """GitHub answered with an error or could not be reached (worth retrying)."""


class GithubNotFound(GithubError):
    """The repository or a commit does not exist (not worth retrying)."""


class GithubAuthError(GithubError):
    """401: the token is wrong or expired."""


class GithubRateLimited(GithubError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Commit:
    sha: str
    committed_at: datetime
    message: str | None
    author: str | None


@dataclass(frozen=True)
class Comparison:
    status: str  # ahead | behind | identical | diverged
    commits: list[Commit]  # the commits in head that base lacks, oldest first


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_commit(item: Any) -> Commit | None:
    """One commit object as GitHub returns it (``sha``, ``commit.{committer,author}``)."""
    if not isinstance(item, dict) or not isinstance(item.get("sha"), str):
        return None
    commit = item.get("commit") if isinstance(item.get("commit"), dict) else {}
    commit = commit or {}
    committer = commit.get("committer") if isinstance(commit.get("committer"), dict) else {}
    author = commit.get("author") if isinstance(commit.get("author"), dict) else {}
    when = _parse_time((committer or {}).get("date")) or _parse_time((author or {}).get("date"))
    if when is None:
        return None
    account = item.get("author")
    login = account.get("login") if isinstance(account, dict) else None
    message = commit.get("message")
    return Commit(
        sha=item["sha"].lower(),
        committed_at=when,
        message=message if isinstance(message, str) else None,
        author=login or (author or {}).get("name"),
    )


def rate_limit_delay(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait when the response is a (primary or secondary) rate limit, else None."""
    if response.status_code not in (403, 429):
        return None
    try:
        message = str(response.json().get("message", "")).lower()
    except ValueError:
        message = ""
    retry_after = response.headers.get("retry-after")
    remaining = response.headers.get("x-ratelimit-remaining")
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after.strip())
    if remaining == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return max(1.0, float(reset) - (now or time.time()))
        return 60.0
    if "rate limit" in message or response.status_code == 429:
        return 60.0
    return None


class CompareClient:
    def __init__(
        self,
        *,
        api_url: str,
        token: str | None,
        repo: str,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {
            "accept": "application/vnd.github+json",
            "x-github-api-version": API_VERSION,
            "user-agent": "devops-command-center",
        }
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.repo = repo
        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> CompareClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise GithubError(f"GitHub unreachable: {type(exc).__name__}: {exc}") from exc
        delay = rate_limit_delay(response)
        if delay is not None:
            raise GithubRateLimited(f"GitHub rate limit on {path}", retry_after=delay)
        if response.status_code == 401:
            raise GithubAuthError("GitHub refused the token (401 Bad credentials)")
        if response.status_code in (404, 422):
            raise GithubNotFound(f"GitHub {response.status_code} for {path}")
        if response.status_code >= 400:
            raise GithubError(f"GitHub {response.status_code} for {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise GithubError(f"GitHub sent no JSON for {path}") from exc

    async def commit(self, sha: str) -> Commit:
        data = await self._get(f"/repos/{self.repo}/commits/{sha}")
        parsed = parse_commit(data)
        if parsed is None:
            raise GithubError(f"unexpected commit shape for {sha}")
        return parsed

    async def compare(self, base: str, head: str) -> Comparison:
        commits: list[Commit] = []
        status = "ahead"
        for page in range(1, MAX_PAGES + 1):
            data = await self._get(
                f"/repos/{self.repo}/compare/{base}...{head}",
                params={"per_page": PER_PAGE, "page": page},
            )
            if not isinstance(data, dict):
                raise GithubError("unexpected comparison shape")
            status = str(data.get("status") or status)
            items = data.get("commits") if isinstance(data.get("commits"), list) else []
            for item in items or []:
                parsed = parse_commit(item)
                if parsed is not None:
                    commits.append(parsed)
            total = data.get("total_commits")
            if (
                not items
                or len(items) < PER_PAGE
                or (isinstance(total, int) and len(commits) >= total)
            ):
                break
        return Comparison(status=status, commits=commits)
