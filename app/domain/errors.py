"""Errors by who is to blame: expected problems carry a Chinese message for the user."""

from __future__ import annotations


class KnownError(Exception):
    """An expected problem (bad input, forbidden action, stale data) shown to the user as is.

    `message` is Chinese and complete; the UI and the CLI print it unchanged.
    """

    def __init__(self, message: str, *, code: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class ValidationError(KnownError):
    """Input that does not pass a check; nothing was changed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, code="invalid")
        self.field = field


class DomainError(KnownError):
    """An action the workflow does not allow in the case's current state or for this role."""

    def __init__(self, message: str, *, code: str = "forbidden") -> None:
        super().__init__(message, code=code)


class PermissionDenied(DomainError):
    """The account's role or station may not do this."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="permission")


class StaleError(KnownError):
    """The record changed since the caller read it (optimistic version check)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="stale")


class NotFound(KnownError):
    """The requested object does not exist (or is not visible to this account)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="not_found")


class AuthError(KnownError):
    """Login failed, account locked, session expired."""

    def __init__(self, message: str, *, code: str = "auth") -> None:
        super().__init__(message, code=code)
