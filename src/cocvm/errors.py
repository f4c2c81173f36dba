"""Errors that reach the caller as JD Cloud's error envelope.

Every error the API returns is an `ApiError`: an HTTP status, JD Cloud's upper-snake `status`
string and a message. The gateway turns one into the envelope at exactly one place::

    {"requestId": "...",
     "error": {"code": 400, "status": "OUT_OF_RANGE", "message": "PageSize out of range"}}

    ApiError
    ├── InvalidArgument        400 INVALID_ARGUMENT
    ├── FailedPrecondition     400 FAILED_PRECONDITION
    ├── OutOfRange             400 OUT_OF_RANGE
    ├── AccessError            401 ACCESS_ERROR
    ├── RouteNotFound          404 NOT_FOUND
    ├── UriTooLong             414 HTTP_URI_TOO_LONG
    ├── RateLimitExceeded      429 HTTP_RATE_LIMIT_EXCEEDED
    ├── InternalError          500 INTERNAL
    └── ServiceUnavailable     500 UNKNOWN
"""

from __future__ import annotations


class ApiError(Exception):
    """An error returned to the caller in JD Cloud's envelope."""

    http_status: int = 500
    status: str = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ApiError):
    """A parameter has a value of the wrong type or outside its allowed set."""

    http_status = 400
    status = "INVALID_ARGUMENT"


class FailedPrecondition(ApiError):
    """A parameter that the request needs is missing."""

    http_status = 400
    status = "FAILED_PRECONDITION"


class OutOfRange(ApiError):
    """A numeric parameter or a list is outside its allowed range."""

    http_status = 400
    status = "OUT_OF_RANGE"


class AccessError(ApiError):
    """The request's signature or access key was not accepted."""

    http_status = 401
    status = "ACCESS_ERROR"


class RouteNotFound(ApiError):
    """No API is served at this method and path (the gateway's own reply)."""

    http_status = 404
    status = "NOT_FOUND"

    def __init__(self, message: str = "no route and no API found with those values") -> None:
        super().__init__(message)


class UriTooLong(ApiError):
    """The request line is longer than the gateway accepts."""

    http_status = 414
    status = "HTTP_URI_TOO_LONG"

    def __init__(self, message: str = "URI too long") -> None:
        super().__init__(message)


class RateLimitExceeded(ApiError):
    """The caller sent more requests than its access key may in the current window."""

    http_status = 429
    status = "HTTP_RATE_LIMIT_EXCEEDED"

    def __init__(
        self, message: str = "minute rate limit exceeded, role:ak", retry_after: int = 1
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InternalError(ApiError):
    """An unexpected fault inside the server; details go to the log, never to the caller."""

    http_status = 500
    status = "INTERNAL"

    def __init__(self, message: str = "Internal server error") -> None:
        super().__init__(message)


class ServiceUnavailable(ApiError):
    """The catalog store is unreachable or timed out; the caller should retry later."""

    http_status = 500
    status = "UNKNOWN"

    def __init__(self, message: str = "Unknown server error") -> None:
        super().__init__(message)
