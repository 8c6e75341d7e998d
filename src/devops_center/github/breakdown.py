"""Lead time, broken down: where the time of a change goes, from the pull requests.

For each pull request merged in the window (``merged_at``):

* coding  = first commit → opened (``first_commit_at`` → ``opened_at``);
* pickup  = opened → first review by someone else (``first_review_at``);
* review  = first review → merged;
* deploy  = merged → the first successful deployment (of the environment asked, by
  completion) whose commits hold the merge commit.

A stage that can't be measured (never reviewed, not deployed yet, no commit times)
is left out of that stage's median, never counted as zero; a negative span (a commit
dated after the opening, clocks) counts as zero. Medians interpolate between the two
middle values, as the DORA report's do. Per service: the pull requests that reached
the service (by its deployments); per week: by the local week of the merge.

A window holds a few hundred merged pull requests at most, read with their first
deployment in two indexed statements (``pull_requests (repo, merged_at)``,
``deployment_commits (sha)``); the arithmetic happens here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.db import utcnow
from devops_center.deployments.models import Deployment, DeploymentCommit
from devops_center.github.models import PullRequest

STAGES = ("coding", "pickup", "review", "deploy")
SLOWEST = 10
WEEKS = 12


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = 0.5 * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


@dataclass
class Stages:
    """Median seconds of each stage and how many pull requests each median is over."""

    coding: float | None = None
    pickup: float | None = None
    review: float | None = None
    deploy: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    pulls: int = 0

    @property
    def total(self) -> float | None:
        """The sum of the stage medians (a bar's length), None when none is known."""
        known = [v for v in (self.coding, self.pickup, self.review, self.deploy) if v is not None]
        return sum(known) if known else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "coding": self.coding,
            "pickup": self.pickup,
            "review": self.review,
            "deploy": self.deploy,
            "counts": dict(self.counts),
            "pull_requests": self.pulls,
        }


@dataclass
class PullTimes:
    number: int
    title: str
    author: str | None
    url: str | None
    merged_at: datetime
    services: list[str]
    coding: float | None
    pickup: float | None
    review: float | None
    deploy: float | None

    @property
    def total(self) -> float:
        return sum(v for v in (self.coding, self.pickup, self.review, self.deploy) if v)

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "author": self.author,
            "url": self.url,
            "merged_at": self.merged_at.isoformat(),
            "services": self.services,
            "coding": self.coding,
            "pickup": self.pickup,
            "review": self.review,
            "deploy": self.deploy,
            "total": self.total,
        }


@dataclass
class Breakdown:
    days: int
    environment: str
    service: str | None
    window: Stages
    per_service: dict[str, Stages]
    per_week: list[tuple[str, Stages]]  # (local Monday, stages), oldest first
    slowest: list[PullTimes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "environment": self.environment,
            "service": self.service,
            "unit": "seconds",
            "window": self.window.as_dict(),
            "per_service": {k: v.as_dict() for k, v in self.per_service.items()},
            "per_week": [{"week": w, **s.as_dict()} for w, s in self.per_week],
            "slowest": [p.as_dict() for p in self.slowest],
        }


def _span(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds())


def _stages(pulls: list[PullTimes]) -> Stages:
    out = Stages(pulls=len(pulls))
    for stage in STAGES:
        values = [v for p in pulls if (v := getattr(p, stage)) is not None]
        setattr(out, stage, median(values))
        out.counts[stage] = len(values)
    return out


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    return ZoneInfo(tz) if isinstance(tz, str) else tz


async def lead_time_breakdown(
    session: AsyncSession,
    *,
    days: int = 30,
    environment: str = "production",
    service: str | None = None,
    repo: str | None = None,
    now: datetime | None = None,
    tz: str | tzinfo | None = "UTC",
) -> Breakdown:
    """The stages of the pull requests merged in the last ``days`` days (all stored
    repositories unless ``repo``), for ``service`` or all."""
    end = (now or utcnow()).astimezone(UTC)
    start = end - timedelta(days=max(1, days))
    zone = _zone(tz)
    stmt = select(PullRequest).where(
        PullRequest.merged_at.is_not(None),
        PullRequest.merged_at >= start,
        PullRequest.merged_at < end,
    )
    if repo:
        stmt = stmt.where(PullRequest.repo == repo)
    pulls = list((await session.execute(stmt)).scalars())
    shas = sorted({p.merge_commit_sha.lower() for p in pulls if p.merge_commit_sha})
    # The first successful deployment of each service that shipped each merge commit.
    shipped: dict[str, dict[str, datetime]] = defaultdict(dict)
    for chunk in (shas[i : i + 500] for i in range(0, len(shas), 500)):
        first = (
            select(
                DeploymentCommit.sha,
                Deployment.service,
                func.min(func.coalesce(Deployment.completed_at, Deployment.started_at)),
            )
            .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
            .where(
                DeploymentCommit.sha.in_(chunk),
                Deployment.status == "success",
                Deployment.environment == environment,
            )
            .group_by(DeploymentCommit.sha, Deployment.service)
        )
        for sha, svc, when in await session.execute(first):
            if isinstance(when, str):  # SQLite's min() of a timestamp is its text
                when = datetime.fromisoformat(when)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            shipped[str(sha)][str(svc)] = when
    rows: list[PullTimes] = []
    by_service: dict[str, list[PullTimes]] = defaultdict(list)
    for p in pulls:
        assert p.merged_at is not None
        deployed = shipped.get((p.merge_commit_sha or "").lower(), {})
        services = sorted(deployed)
        if service is not None:
            if service not in deployed:
                continue
            first_deploy: datetime | None = deployed[service]
        else:
            first_deploy = min(deployed.values()) if deployed else None
        row = PullTimes(
            number=p.number,
            title=p.title,
            author=p.author_login,
            url=p.url,
            merged_at=p.merged_at,
            services=services,
            coding=_span(p.opened_at, p.first_commit_at),
            pickup=_span(p.first_review_at, p.opened_at),
            review=_span(p.merged_at, p.first_review_at),
            deploy=_span(first_deploy, p.merged_at),
        )
        rows.append(row)
        for svc, when in deployed.items():
            if service is None or svc == service:
                # on this service, the deploy stage ends at this service's first deployment
                by_service[svc].append(replace(row, deploy=_span(when, p.merged_at)))
    by_week: dict[date, list[PullTimes]] = defaultdict(list)
    for row in rows:
        local = row.merged_at.astimezone(zone).date()
        by_week[local - timedelta(days=local.weekday())].append(row)
    last_monday = end.astimezone(zone).date()
    last_monday -= timedelta(days=last_monday.weekday())
    first_monday = start.astimezone(zone).date()
    first_monday -= timedelta(days=first_monday.weekday())
    mondays = []
    monday = max(first_monday, last_monday - timedelta(weeks=WEEKS - 1))
    while monday <= last_monday:
        mondays.append(monday)
        monday += timedelta(weeks=1)
    return Breakdown(
        days=max(1, days),
        environment=environment,
        service=service,
        window=_stages(rows),
        per_service={k: _stages(v) for k, v in sorted(by_service.items())},
        per_week=[(m.isoformat(), _stages(by_week.get(m, []))) for m in mondays],
        slowest=sorted(rows, key=lambda r: (-r.total, r.number))[:SLOWEST],
    )
