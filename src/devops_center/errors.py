"""Domain errors. Services raise these; web and bot translate them for their users."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. ``message`` is an i18n msgid; ``params`` fill its placeholders."""

    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Conflict(DomainError):
    pass


class RateLimited(DomainError):
    def __init__(self, message: str, /, *, retry_after: int = 60, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


class Invalid(DomainError):
    """Bad input. ``fields`` maps a field name to its msgid error."""

    def __init__(
        self, message: str = "Invalid input", /, *, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.fields = fields or {}


class Unavailable(DomainError):
    """Something the request needs is down for now (an unwritable upload directory …):
    503 with the reason, nothing stored."""
