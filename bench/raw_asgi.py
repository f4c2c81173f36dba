"""A bare ASGI app that sends one canned describeImages reply: the benchmark's floor.

It does no routing, parsing, catalog read or logging, so its throughput under the same uvicorn
settings as the server is the most that any ASGI app could reach on the machine. The reply is a real
describeImages body that the benchmark saved from the server, sent with the server's headers
(content-type, content-length, x-jdcloud-request-id) and the same request id on every reply. Run it
as `uvicorn --factory bench.raw_asgi:create_app` with BENCH_RAW_BODY_FILE naming that body.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_FILE_VARIABLE = "BENCH_RAW_BODY_FILE"


def load_reply(path: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Read a saved describeImages body and build the headers the server sends with it."""
    body = path.read_bytes()
    request_id = json.loads(body)["requestId"]
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        (b"x-jdcloud-request-id", request_id.encode("ascii")),
    ]
    return body, headers


def create_app() -> ASGIApp:
    """Build the app from the body file that BENCH_RAW_BODY_FILE names (uvicorn's factory)."""
    value = os.environ.get(BODY_FILE_VARIABLE)
    if not value:
        raise RuntimeError(
            f"{BODY_FILE_VARIABLE} is not set; set it to a file holding a describeImages reply body"
        )
    body, headers = load_reply(Path(value))
    start_message = {"type": "http.response.start", "status": 200, "headers": headers}
    body_message = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await send(start_message)
            await send(body_message)
        elif scope["type"] == "lifespan":
            await _handle_lifespan(receive, send)

    return app


async def _handle_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
