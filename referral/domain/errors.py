"""Errors raised by domain rules and services; adapters map them to their protocol."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is the stable error code of API.md."""

    code = "error"
    status = 400

    def __init__(self, message: str, **details) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthorized(DomainError):
    code, status = "unauthorized", 401


class Forbidden(DomainError):
    code, status = "forbidden", 403


class NotFound(DomainError):
    """Absent, or present but outside the caller's scope: the two look the same."""

    code, status = "not_found", 404


class InvalidTransition(DomainError):
    code, status = "invalid_transition", 409


class Conflict(DomainError):
    code, status = "conflict", 409


class ValidationFailed(DomainError):
    code, status = "validation", 422

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message, fields=fields)
        self.fields = fields


class TooLarge(DomainError):
    code, status = "too_large", 413


class Unavailable(DomainError):
    """The database could not be reached, or was too busy to answer in time: worth trying again soon."""

    code, status = "unavailable", 503
    retry_after = "10"  # seconds: a database restart or a lock held too long is over by then, usually


class StorageFull(DomainError):
    """The server's disk (or its database's) has no room left: nothing of the request was kept."""

    code, status = "storage_full", 507


class RateLimited(DomainError):
    code, status = "rate_limited", 429


class RoutingError(InvalidTransition):
    """No facility can take the case at the next tier (or it is already at the top)."""
