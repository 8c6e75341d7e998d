"""Reading a repository's deployment history from GitHub, a page at a time.

* workflow runs: ``GET /repos/{o}/{r}/actions/runs?created=…&branch=…`` (newest first;
  GitHub serves at most 1,000 runs of a filtered listing, so a caller narrows the
  ``created`` window instead of paging past 10 pages of 100);
* deployments: ``GET /repos/{o}/{r}/deployments`` (newest first, no date filter) and the
  latest status of each (``GET …/deployments/{id}/statuses``, newest first);
* one run (``GET …/actions/runs/{id}``), to name the run a deployment status came from.

Failures are the client's (:class:`GithubRetryable` with GitHub's wait, or
:class:`GithubPermanent`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devops_center.integrations.github.client import GithubClient, GithubPermanent

PER_PAGE = 100
MAX_LISTED = 1000  # GitHub's ceiling on the results of a filtered run listing
RUN_IN_URL = re.compile(r"/actions/runs/(\d+)(?:/attempts/(\d+))?")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    has_next: bool


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def created_range(since: datetime, upper: datetime | None) -> str:
    """GitHub's search syntax for runs created from ``since`` to ``upper`` (inclusive)."""
    return f"{stamp(since)}..{stamp(upper)}" if upper is not None else f">={stamp(since)}"


async def repository(gh: GithubClient) -> dict[str, Any]:
    data = (await gh.request("GET", f"/repos/{gh.repo}")).json()
    if not isinstance(data, dict):
        raise GithubPermanent("GitHub answered the repository with something else than an object")
    return data


async def workflow_runs(
    gh: GithubClient,
    *,
    since: datetime,
    upper: datetime | None,
    branch: str | None,
    page: int,
    per_page: int = PER_PAGE,
) -> Page:
    params: dict[str, Any] = {
        "created": created_range(since, upper),
        "exclude_pull_requests": "true",
        "per_page": per_page,
        "page": page,
    }
    if branch:
        params["branch"] = branch
    response = await gh.request("GET", f"/repos/{gh.repo}/actions/runs", params=params)
    data = response.json()
    runs = data.get("workflow_runs") if isinstance(data, dict) else None
    if not isinstance(runs, list):
        raise GithubPermanent("GitHub answered the run listing without workflow_runs")
    items = [r for r in runs if isinstance(r, dict)]
    return Page(items, "next" in response.links or len(items) >= per_page)


async def deployments(gh: GithubClient, *, page: int, per_page: int = PER_PAGE) -> Page:
    response = await gh.request(
        "GET",
        f"/repos/{gh.repo}/deployments",
        params={"per_page": per_page, "page": page},
    )
    data = response.json()
    if not isinstance(data, list):
        raise GithubPermanent("GitHub answered the deployment listing with something else")
    items = [d for d in data if isinstance(d, dict)]
    return Page(items, "next" in response.links or len(items) >= per_page)


async def latest_status(gh: GithubClient, deployment_id: int) -> dict[str, Any] | None:
    """The deployment's newest status, or None when it has none (or is gone)."""
    try:
        response = await gh.request(
            "GET",
            f"/repos/{gh.repo}/deployments/{deployment_id}/statuses",
            params={"per_page": 1},
        )
    except GithubPermanent as exc:
        if exc.status in (404, 410):
            return None
        raise
    data = response.json()
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return None


def run_named_by(status: dict[str, Any]) -> tuple[int, int | None] | None:
    """(run id, attempt when named) of the workflow run a deployment status links to
    (its log or target URL: ``…/actions/runs/<id>[/attempts/<n>]…``), if any."""
    for key in ("log_url", "target_url"):
        found = RUN_IN_URL.search(str(status.get(key) or ""))
        if found:
            attempt = int(found.group(2)) if found.group(2) else None
            return int(found.group(1)), attempt
    return None


async def workflow_run(gh: GithubClient, run_id: int) -> dict[str, Any] | None:
    try:
        data = (await gh.request("GET", f"/repos/{gh.repo}/actions/runs/{run_id}")).json()
    except GithubPermanent as exc:
        if exc.status in (404, 410):
            return None
        raise
    return data if isinstance(data, dict) else None
