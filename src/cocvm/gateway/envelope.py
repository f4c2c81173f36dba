"""JD Cloud's response envelope, request ids, and sending a JSON response over ASGI.

Success: `{"requestId": "...", "result": {...}}`. Failure: `{"requestId": "...", "error": {"code":
N, "status": "...", "message": "..."}}` with HTTP status N. Every response carries the request id in
the `x-jdcloud-request-id` header as well, because JD Cloud's SDKs read it from there when a body
lacks it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from cocvm.errors import ApiError

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CONTENT_TYPE = b"application/json; charset=utf-8"
REQUEST_ID_HEADER = b"x-jdcloud-request-id"

_encode = msgspec.json.Encoder().encode


def new_request_id() -> str:
    """Return a fresh request id: 32 characters of [0-9a-f] (JD Cloud's are 32 of [0-9a-z])."""
    return os.urandom(16).hex()


def success_body(request_id: str, result_json: bytes) -> bytes:
    """Wrap a result object, already JSON, in the success envelope."""
    # bytes.join copies each part once; %-formatting a page of several KiB is several times slower.
    return b"".join(
        (b'{"requestId":"', request_id.encode("ascii"), b'","result":', result_json, b"}")
    )


def error_body(request_id: str, error: ApiError) -> bytes:
    """Render an ApiError in the error envelope."""
    return _encode(
        {
            "requestId": request_id,
            "error": {"code": error.http_status, "status": error.status, "message": error.message},
        }
    )


async def send_json(
    send: Send,
    status: int,
    body: bytes,
    request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a complete JSON response with the envelope's headers."""
    headers = [
        (b"content-type", CONTENT_TYPE),
        (b"content-length", b"%d" % len(body)),
        (REQUEST_ID_HEADER, request_id.encode("ascii")),
    ]
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
