"""Structured logging: one JSON object per line, and the access log line for each request.

The access log never holds query strings, headers or bodies, because those can carry signatures,
access keys and tokens: only the request id, method, path, status and latency.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import msgspec

access_logger = logging.getLogger("cocvm.access")

_encode = msgspec.json.Encoder().encode


class JsonFormatter(logging.Formatter):
    """Formats a log record as one JSON object: time, level, logger, message and extra `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encode(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    """Send the logs of cocvm and uvicorn to standard error as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("cocvm", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def log_request(
    request_id: str, method: str, path: str, status: int, started: float
) -> None:
    """Write the access log line for a finished request; `started` is a perf_counter() value."""
    if not access_logger.isEnabledFor(logging.INFO):
        return
    access_logger.info(
        "request",
        extra={
            "fields": {
                "requestId": request_id,
                "method": method,
                "path": path,
                "status": status,
                "latencyMs": round((time.perf_counter() - started) * 1000, 3),
            }
        },
    )
