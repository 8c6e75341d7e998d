"""An incident as people read it: severity, cause and title in their language, the page of
its cause, and how long it lasted.

Titles written by the system are stored in English (they are also the incident's name
in logs and the API); the ones whose shape we know are redrawn in the reader's language
from the incident's own fields, a title typed by a person is shown as typed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from babel.dates import format_timedelta

from devops_center.i18n import gettext, lazy
from devops_center.incidents.models import Incident

SEVERITY_LABELS = {
    "critical": lazy("Critical"),
    "high": lazy("High"),
    "medium": lazy("Medium"),
    "low": lazy("Low"),
}
SOURCE_LABELS = {
    "deployment": lazy("Deployment"),
    "check": lazy("Check"),
    "bug": lazy("Bug"),
    "manual": lazy("Manual"),
}
_CHECK_DOWN = re.compile(r"^(?P<name>.+) is down$")
_DEPLOYMENT = re.compile(
    r"^Deployment of (?P<service>.+) \((?P<env>[^()]+)\) (?P<verb>failed|was rolled back)$"
)
_CRITICAL_BUG = re.compile(r"^Critical bug #(?P<id>\d+): (?P<title>.*)$", re.S)


def severity_label(severity: str, lang: str) -> str:
    """The severity of an incident (the masculine forms of a bug's priority fit it)."""
    return gettext(lang, SEVERITY_LABELS[severity]) if severity in SEVERITY_LABELS else severity


def source_label(source: str, lang: str) -> str:
    return gettext(lang, SOURCE_LABELS[source]) if source in SOURCE_LABELS else source


def title(incident: Incident, lang: str) -> str:
    text = incident.title
    if incident.source == "check" and (m := _CHECK_DOWN.match(text)):
        return gettext(lang, "%(name)s is down", name=m["name"])
    if incident.source == "deployment" and (m := _DEPLOYMENT.match(text)):
        if m["verb"] == "failed":
            msg = lazy("Deployment of %(service)s (%(env)s) failed")
        else:
            msg = lazy("Deployment of %(service)s (%(env)s) was rolled back")
        return gettext(lang, msg, service=m["service"], env=m["env"])
    if incident.source == "bug" and (m := _CRITICAL_BUG.match(text)):
        return gettext(lang, "Critical bug #%(id)s: %(title)s", id=m["id"], title=m["title"])
    return text


def cause_url(incident: Incident) -> str | None:
    """The page of what opened the incident: the deployment, the bug or the check."""
    if incident.deployment_id is not None:
        return f"/admin/deployments/{incident.deployment_id}"
    if incident.bug_id is not None:
        return f"/admin/bugs/{incident.bug_id}"
    if incident.source == "check":
        return "/admin/status"
    return None


def duration(incident: Incident, lang: str, *, now: datetime) -> str:
    """How long it lasted, or has lasted so far: '2 hours', '35 минут'."""
    end = incident.resolved_at or now
    start = incident.opened_at
    if end.tzinfo is None and start.tzinfo is not None:
        end = end.replace(tzinfo=start.tzinfo)
    elif start.tzinfo is None and end.tzinfo is not None:
        start = start.replace(tzinfo=end.tzinfo)
    seconds = max((end - start).total_seconds(), 0.0)
    return format_timedelta(timedelta(seconds=seconds), locale=lang, threshold=1.5)
