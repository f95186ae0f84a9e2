"""One error hierarchy for the whole suite, mapped to HTTP in ``shared.web`` only.

Every error carries a machine-readable ``code``, a human ``message`` and, where one input was at
fault, the offending ``field``.  ``retryable`` says whether a caller may try the same call again.
"""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error the suite raises on purpose."""

    http_status = 500
    code = "internal_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: Any = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """Return the ``error`` object of the response envelope."""
        details = self.details
        if self.field is not None:
            details = {"field": self.field, **(details if isinstance(details, dict) else
                                               ({} if details is None else {"info": details}))}
        return {"code": self.code, "message": self.message, "details": details}


class ValidationError(AppError):
    """A request or value was malformed or out of range (400)."""

    http_status = 400
    code = "validation_error"


class UnprocessableError(AppError):
    """A request was well-formed but cannot be carried out as asked (422)."""

    http_status = 422
    code = "unprocessable"


class AuthError(AppError):
    """The API key was missing or wrong (401)."""

    http_status = 401
    code = "unauthorized"


class Forbidden(AppError):
    """The caller may not do this, e.g. a risk rule rejected an order (403)."""

    http_status = 403
    code = "forbidden"


class NotFound(AppError):
    """The thing asked for does not exist (404)."""

    http_status = 404
    code = "not_found"


class Conflict(AppError):
    """The request conflicts with the current state (409)."""

    http_status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    """The request body was over the configured limit (413)."""

    http_status = 413
    code = "payload_too_large"


class RetryableError(AppError):
    """A transient failure; the same call may succeed later (503)."""

    http_status = 503
    code = "retryable"
    retryable = True


class DatabaseBusyError(RetryableError):
    """SQLite stayed locked past every retry."""

    code = "database_busy"


class ServiceUnavailable(RetryableError):
    """Another service did not answer, or its circuit breaker is open."""

    code = "service_unavailable"


class RateLimited(RetryableError):
    """A remote data provider refused the call for its rate limit (a 429, or its own
    "too many requests" answer); ``details`` may carry ``retry_after_s``."""

    code = "rate_limited"


class UpstreamUnavailable(ServiceUnavailable):
    """A remote data provider answered 5xx, timed out or could not be reached."""

    code = "upstream_unavailable"


class OperationalError(AppError):
    """The system itself is in a bad state (disk full, read-only database...) (500)."""

    http_status = 500
    code = "operational_error"


class ConfigError(AppError):
    """The settings are invalid; raised at start, before anything runs."""

    code = "config_error"
