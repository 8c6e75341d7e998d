"""A small GitHub REST client over httpx, with GitHub's failures sorted in two kinds.

* :class:`GithubRetryable` — timeouts, connection errors, 5xx, rate limits (403/429):
  try again later; ``retry_after`` is what GitHub asked for (``Retry-After``, or until
  ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, or at least a minute for a
  secondary limit without a header), None when it said nothing.
* :class:`GithubPermanent` — 400/401/404/410/422 and other refusals: retrying the same
  request cannot help; the message is GitHub's own, for the admin.

The base URL comes from ``GITHUB_API_URL`` so GitHub Enterprise (or a stand-in) works.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from devops_center.integrations.github.events import is_pull_request, parse_time

API_VERSION = "2022-11-28"
USER_AGENT = "devops-command-center"
SECONDARY_LIMIT_MIN_WAIT = 60.0
MAX_PAGES = 50
PER_PAGE = 100
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
LABEL_COLORS = {
    "bug": ("d73a4a", "Something isn't working"),
    "priority:critical": ("b60205", "Critical priority"),
    "priority:high": ("d93f0b", "High priority"),
    "priority:medium": ("fbca04", "Medium priority"),
    "priority:low": ("0e8a16", "Low priority"),
}


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~0.1 s each time."""
    return ssl.create_default_context()


class GithubError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class GithubRetryable(GithubError):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class GithubPermanent(GithubError):
    pass


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if not isinstance(data, dict):
        return response.reason_phrase
    message = str(data.get("message") or response.reason_phrase)
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        details = []
        for err in errors[:5]:
            if isinstance(err, dict):
                text = err.get("message") or " ".join(
                    str(err[k]) for k in ("resource", "field", "code") if err.get(k)
                )
                details.append(str(text))
            else:
                details.append(str(err))
        message += " (" + "; ".join(details) + ")"
    return message


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def rate_limit_wait(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds GitHub asked us to wait, from ``Retry-After`` or ``x-ratelimit-reset``."""
    retry_after = _number(response.headers.get("retry-after"))
    if retry_after is not None:
        return max(0.0, retry_after)
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = _number(response.headers.get("x-ratelimit-reset"))
        if reset is not None:
            return max(1.0, reset - (now if now is not None else time.time()) + 1)
    return None


def classify(response: httpx.Response) -> GithubError | None:
    """None for success (2xx, 304); otherwise the error to raise."""
    status = response.status_code
    if status < 300 or status == 304:
        return None
    message = f"GitHub {status}: {_message(response)}"
    if status in (403, 429):
        wait = rate_limit_wait(response)
        text = message.lower()
        if status == 429 or wait is not None or "rate limit" in text:
            if wait is None and "secondary" in text:
                wait = SECONDARY_LIMIT_MIN_WAIT
            return GithubRetryable(message, status=status, retry_after=wait)
        return GithubPermanent(message, status=status)
    if status >= 500:
        return GithubRetryable(
            message, status=status, retry_after=_number(response.headers.get("retry-after"))
        )
    return GithubPermanent(message, status=status)


@dataclass(frozen=True)
class IssuePage:
    """The result of a conditional listing: ``not_modified`` (304) or every issue."""

    not_modified: bool
    issues: list[dict[str, Any]]
    etag: str | None


class GithubClient:
    """``async with GithubClient(...) as gh:`` — one connection pool per job run."""

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        repo: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.repo = repo
        self._origin = urlsplit(self.api_url)[:2]
        self._http = httpx.AsyncClient(
            base_url=self.api_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=_tls(),
            headers={
                "authorization": f"Bearer {token}",
                "accept": "application/vnd.github+json",
                "x-github-api-version": API_VERSION,
                "user-agent": USER_AGENT,
            },
            follow_redirects=False,
        )

    async def __aenter__(self) -> GithubClient:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, url, json=json, params=params, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise GithubRetryable(f"GitHub did not answer in time ({method} {url})") from exc
        except httpx.TransportError as exc:
            raise GithubRetryable(
                f"GitHub unreachable ({method} {url}): {type(exc).__name__}"
            ) from exc
        error = classify(response)
        if error is not None:
            raise error
        return response

    def _same_origin(self, url: str) -> bool:
        """Never send the token to another host than GITHUB_API_URL's (Link headers)."""
        return urlsplit(url)[:2] == self._origin

    async def _paginate(
        self, first: httpx.Response, *, max_pages: int = MAX_PAGES
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        response = first
        for _ in range(max_pages):
            page = response.json()
            if not isinstance(page, list):
                raise GithubPermanent("GitHub answered a listing with something else than a list")
            items.extend(item for item in page if isinstance(item, dict))
            nxt = response.links.get("next", {}).get("url")
            if not nxt or not self._same_origin(nxt):
                break
            response = await self.request("GET", nxt)
        return items

    # --------------------------------------------------------------------- calls

    async def authenticated_login(self) -> str:
        data = (await self.request("GET", "/user")).json()
        login = data.get("login") if isinstance(data, dict) else None
        if not isinstance(login, str) or not login:
            raise GithubPermanent("GitHub /user did not name the token's user")
        return login

    async def ensure_label(self, name: str) -> bool:
        """Create the label if the repository lacks it. True when it was created."""
        try:
            await self.request("GET", f"/repos/{self.repo}/labels/{name}")
            return False
        except GithubPermanent as exc:
            if exc.status != 404:
                raise
        color, description = LABEL_COLORS.get(name, ("ededed", ""))
        try:
            await self.request(
                "POST",
                f"/repos/{self.repo}/labels",
                json={"name": name, "color": color, "description": description},
            )
        except GithubPermanent as exc:
            if exc.status == 422 and "already_exists" in exc.message:
                return False  # created meanwhile by someone else
            raise
        return True

    async def find_issue_with_marker(
        self, *, creator: str, marker: str, not_before: Any = None
    ) -> dict[str, Any] | None:
        """The newest issue opened by ``creator`` whose body carries ``marker``.

        Lists the creator's issues newest first (pull requests filtered out), and stops
        at issues created before ``not_before`` (a datetime: the bug cannot be older).
        """
        params: dict[str, Any] = {
            "creator": creator,
            "state": "all",
            "sort": "created",
            "direction": "desc",
            "per_page": PER_PAGE,
        }
        response = await self.request("GET", f"/repos/{self.repo}/issues", params=params)
        for _ in range(MAX_PAGES):
            page = response.json()
            if not isinstance(page, list):
                raise GithubPermanent("GitHub answered a listing with something else than a list")
            for item in page:
                if not isinstance(item, dict) or is_pull_request(item):
                    continue
                if marker in str(item.get("body") or ""):
                    return item
                created = parse_time(item.get("created_at"))
                if not_before is not None and created is not None and created < not_before:
                    return None
            nxt = response.links.get("next", {}).get("url")
            if not nxt or not self._same_origin(nxt):
                return None
            response = await self.request("GET", nxt)
        return None

    async def create_issue(self, *, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        response = await self.request(
            "POST",
            f"/repos/{self.repo}/issues",
            json={"title": title, "body": body, "labels": labels},
        )
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get("number"), int):
            raise GithubPermanent("GitHub created an issue but did not return its number")
        return data

    async def issue_comments(self, number: int) -> list[dict[str, Any]]:
        response = await self.request(
            "GET", f"/repos/{self.repo}/issues/{number}/comments", params={"per_page": 100}
        )
        return await self._paginate(response)

    async def comments_since(self, since: datetime) -> list[dict[str, Any]]:
        """Every issue comment of the repository created or edited since ``since``."""
        response = await self.request(
            "GET",
            f"/repos/{self.repo}/issues/comments",
            params={
                "since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sort": "updated",
                "direction": "asc",
                "per_page": 100,
            },
        )
        return await self._paginate(response)

    async def create_comment(self, number: int, *, body: str) -> dict[str, Any]:
        response = await self.request(
            "POST", f"/repos/{self.repo}/issues/{number}/comments", json={"body": body}
        )
        data = response.json()
        return data if isinstance(data, dict) else {}

    async def close_issue(self, number: int, *, reason: str = "completed") -> dict[str, Any]:
        """Close an issue with a ``state_reason`` (completed, not_planned, duplicate)."""
        response = await self.request(
            "PATCH",
            f"/repos/{self.repo}/issues/{number}",
            json={"state": "closed", "state_reason": reason},
        )
        data = response.json()
        return data if isinstance(data, dict) else {}

    async def get_issue(self, number: int) -> dict[str, Any] | None:
        """One issue, or None when it is gone (404/410: deleted or transferred)."""
        try:
            data = (await self.request("GET", f"/repos/{self.repo}/issues/{number}")).json()
        except GithubPermanent as exc:
            if exc.status in (404, 410):
                return None
            raise
        return data if isinstance(data, dict) else None

    async def list_open_issues(self, *, etag: str | None = None) -> IssuePage:
        """Every open issue (pull requests dropped), or ``not_modified`` on a 304.

        The ETag of the first page decides: a 304 costs no rate limit.
        """
        headers = {"if-none-match": etag} if etag else None
        response = await self.request(
            "GET",
            f"/repos/{self.repo}/issues",
            params={"state": "open", "per_page": PER_PAGE, "sort": "created", "direction": "desc"},
            headers=headers,
        )
        if response.status_code == 304:
            return IssuePage(not_modified=True, issues=[], etag=etag)
        new_etag = response.headers.get("etag")
        items = await self._paginate(response)
        return IssuePage(
            not_modified=False,
            issues=[item for item in items if not is_pull_request(item)],
            etag=new_etag,
        )

    # -------------------------------------------------------------- source archives

    async def default_branch_head(self) -> tuple[str, str]:
        """(default branch, the full SHA of its head commit)."""
        repo = (await self.request("GET", f"/repos/{self.repo}")).json()
        branch = repo.get("default_branch") if isinstance(repo, dict) else None
        if not isinstance(branch, str) or not branch:
            raise GithubPermanent("GitHub did not name the repository's default branch")
        commit = (
            await self.request("GET", f"/repos/{self.repo}/commits/{quote(branch, safe='')}")
        ).json()
        sha = commit.get("sha") if isinstance(commit, dict) else None
        if not isinstance(sha, str) or len(sha) < 7:
            raise GithubPermanent(f"GitHub did not give the head commit of {branch}")
        return branch, sha

    async def download_tarball(self, ref: str, dest: Path, *, max_bytes: int) -> int:
        """Stream the gzipped tarball of ``ref`` into ``dest``; returns its size.

        GitHub answers ``/tarball`` with a redirect to a download host: it is followed
        by hand, with the token only when the redirect stays on GITHUB_API_URL's host
        (the download URL carries its own short-lived grant). Larger than ``max_bytes``
        is refused (permanent); GitHub's failures are sorted as in :meth:`request`.
        """
        url = f"{self.api_url}/repos/{self.repo}/tarball/{quote(ref, safe='')}"
        for _ in range(MAX_REDIRECTS + 1):
            foreign = not self._same_origin(url)
            location, size = await self._stream_to(url, dest, max_bytes=max_bytes, foreign=foreign)
            if location is None:
                return size
            url = urljoin(url, location)
        raise GithubPermanent("GitHub redirected the tarball download too many times")

    async def _stream_to(
        self, url: str, dest: Path, *, max_bytes: int, foreign: bool
    ) -> tuple[str | None, int]:
        """GET ``url`` into ``dest``: (None, its size), or (the Location, 0) for a redirect."""
        client = self._http
        other: httpx.AsyncClient | None = None
        if foreign:  # another host: a plain client, without our token
            other = client = httpx.AsyncClient(
                timeout=self._http.timeout,
                verify=_tls(),
                follow_redirects=False,
                headers={"user-agent": USER_AGENT},
            )
        try:
            async with client.stream("GET", url) as response:
                if response.status_code in REDIRECTS:
                    location = str(response.headers.get("location") or "")
                    if not location:
                        raise GithubPermanent("GitHub redirected the tarball without a Location")
                    return location, 0
                if response.status_code >= 300:
                    await response.aread()
                    error = classify(response)
                    raise error or GithubPermanent(f"GitHub {response.status_code}")
                size = 0
                with dest.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise GithubPermanent(
                                f"the repository tarball is larger than {max_bytes} bytes"
                            )
                        out.write(chunk)
                return None, size
        except httpx.TimeoutException as exc:
            raise GithubRetryable(f"GitHub did not answer in time (GET {url})") from exc
        except httpx.TransportError as exc:
            raise GithubRetryable(f"GitHub unreachable (GET {url}): {type(exc).__name__}") from exc
        finally:
            if other is not None:
                await other.aclose()
