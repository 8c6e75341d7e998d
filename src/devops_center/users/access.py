"""Who calls the JSON API and what they may do: scopes, roles, and the :class:`Caller`.

A token either belongs to a user and then acts as that user (its rights are its scopes
*within* what the user's role allows, so a token never outlives a demotion), or belongs
to no one: an integration that acts with its scopes alone. The ``admin`` scope stands
for every scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from devops_center.config import ADMIN_ROLES
from devops_center.users.models import ApiToken, User

SCOPES = (
    "admin",
    "architecture:read",
    "audit:read",
    "bugs:admin",
    "bugs:read",
    "bugs:write",
    "changelog:read",
    "deployments:write",
    "faq:read",
    "faq:write",
    "incidents:read",
    "incidents:write",
    "metrics:read",
    "users:admin",
)
EVERY_SCOPE = frozenset(SCOPES)
# What any signed-in person does on the web: read and file their own bugs, read the FAQ.
MEMBER_SCOPES = frozenset({"bugs:read", "bugs:write", "faq:read"})


def role_scopes(role: str) -> frozenset[str]:
    """The scopes an account of ``role`` may hold (owners and superadmins: all)."""
    return EVERY_SCOPE if role in ADMIN_ROLES else MEMBER_SCOPES


def expand(scopes: frozenset[str]) -> frozenset[str]:
    return EVERY_SCOPE if "admin" in scopes else scopes


@dataclass(frozen=True)
class Caller:
    """The other end of an API request.

    ``user``: the account the call acts as (a user's token, or a signed-in admin's
    session); None for an integration token. ``scopes``: what the call may do, already
    narrowed to the user's role.
    """

    scopes: frozenset[str]
    user: User | None = None
    token: ApiToken | None = None

    @classmethod
    def for_token(cls, token: ApiToken, user: User | None) -> Caller:
        scopes = expand(token.scope_set)
        if user is not None:
            scopes &= role_scopes(user.role)
        return cls(scopes=scopes, user=user, token=token)

    @classmethod
    def for_session(cls, user: User) -> Caller:
        return cls(scopes=role_scopes(user.role), user=user)

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def token_scopes(self) -> frozenset[str]:
        """The token's own scopes (before the user's role narrows them)."""
        return expand(self.token.scope_set) if self.token is not None else self.scopes

    @property
    def actor_id(self) -> int | None:
        """Who the audit log names: the user acted for (None for an integration)."""
        return self.user.id if self.user is not None else None

    @property
    def sees_every_bug(self) -> bool:
        """An integration and an owner/superadmin see every bug; anyone else their own."""
        return self.user is None or (self.user.is_active and self.user.role in ADMIN_ROLES)

    @property
    def only_reporter(self) -> int | None:
        """The user whose bugs alone this caller sees (None: every bug)."""
        return None if self.sees_every_bug or self.user is None else self.user.id

    @property
    def kind(self) -> str:
        if self.token is None:
            return "session"
        return "user_token" if self.user is not None else "integration"

    @property
    def name(self) -> str:
        if self.token is not None:
            return self.token.name
        return self.user.name if self.user is not None else ""
