"""The ASGI application: JD Cloud's describeImages route, plus operations endpoints.

The describeImages route is served by plain ASGI code rather than through a framework's router and
request objects, because on this route the framework cost more than the query itself. Everything else
(`/healthz`, `/readyz`) is a small Starlette app behind it. Every reply on a JD Cloud path, errors
included, is JD Cloud's JSON envelope with a request id; nothing ever returns a stack trace or HTML.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cocvm.errors import ApiError, InternalError, RouteNotFound, ServiceUnavailable, UriTooLong
from cocvm.gateway.access_log import configure_logging, log_request
from cocvm.gateway.authentication import Authenticator, AuthMode
from cocvm.gateway.envelope import error_body, new_request_id, send_json, success_body
from cocvm.gateway.nonces import MemoryNonceStore
from cocvm.gateway.query import decode_query
from cocvm.gateway.settings import ServerSettings
from cocvm.images.describe import ImageService
from cocvm.store.reader import CatalogReader, StoreUnavailableError, open_catalog_reader
from cocvm.store.secret_box import load_secret_box

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ROUTE_PREFIX = "/v1/regions/"
_ROUTE_SUFFIX = "/images"
# Paths the operations app serves; all other paths get JD Cloud's "no route" envelope.
_OPERATIONS_PATHS = frozenset({"/healthz", "/readyz"})


def describe_images_region(path: str) -> str | None:
    """Return the regionId of a `/v1/regions/{regionId}/images` path, or None for any other path."""
    if not (path.startswith(_ROUTE_PREFIX) and path.endswith(_ROUTE_SUFFIX)):
        return None
    region_id = path[len(_ROUTE_PREFIX) : -len(_ROUTE_SUFFIX)]
    if not region_id or "/" in region_id:
        return None
    return region_id


class GatewayApp:
    """The server's ASGI application for one worker process."""

    def __init__(self, settings: ServerSettings) -> None:
        self._settings = settings
        self._reader: CatalogReader | None = None
        self._service: ImageService | None = None
        self._authenticator: Authenticator | None = None
        self._operations = Starlette(
            routes=[
                Route("/healthz", self._healthz, methods=["GET"]),
                Route("/readyz", self._readyz, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._handle_http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._handle_lifespan(receive, send)

    async def _handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        region_id = describe_images_region(path)
        if region_id is None and path in _OPERATIONS_PATHS:
            await self._operations(scope, receive, send)
            return

        request_id = new_request_id()
        try:
            self._check_request_line(scope)
            if region_id is None or method != "GET":
                raise RouteNotFound()
            status, body = 200, await self._describe_images(scope, region_id, request_id)
        except ApiError as error:
            status, body = error.http_status, error_body(request_id, error)
        except StoreUnavailableError:
            error = ServiceUnavailable()
            status, body = error.http_status, error_body(request_id, error)
        except Exception:
            logger.exception(
                "describeImages failed", extra={"fields": {"requestId": request_id}}
            )
            error = InternalError()
            status, body = error.http_status, error_body(request_id, error)

        await send_json(send, status, body, request_id)
        log_request(request_id, method, path, status, started)

    async def _describe_images(self, scope: Scope, region_id: str, request_id: str) -> bytes:
        assert self._service is not None, "the lifespan startup opens the service"
        assert self._authenticator is not None
        caller = await self._authenticator.authenticate(scope, region_id)
        query = decode_query(scope["query_string"])
        result = await self._service.describe_images(
            region_id, query.values, query.arrays, caller
        )
        return success_body(request_id, result)

    def _check_request_line(self, scope: Scope) -> None:
        # "GET " + target + " HTTP/1.1": the request line as the client sent it.
        query_string: bytes = scope["query_string"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        length = len(scope["method"]) + 1 + len(raw_path) + 1 + len("HTTP/1.1")
        if query_string:
            length += 1 + len(query_string)
        if length > self._settings.max_request_line_bytes:
            raise UriTooLong()

    async def _handle_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start()
                except Exception as error:
                    logger.exception("Server start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        self._reader = await open_catalog_reader(self._settings.database_url)
        self._service = ImageService(
            self._reader, profile=self._settings.profile, regions=self._settings.regions
        )
        mode = self._settings.auth_mode
        secret_box = (
            load_secret_box(self._settings.server_key_file, create=True)
            if mode is AuthMode.STRICT
            else None
        )
        self._authenticator = Authenticator(
            mode,
            self._reader,
            secret_box,
            MemoryNonceStore(),
            max_clock_skew_seconds=self._settings.max_clock_skew_seconds,
        )

    async def _stop(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    async def _healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def _readyz(self, request: Request) -> JSONResponse:
        if self._reader is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await self._reader.ping()
        except StoreUnavailableError as error:
            logger.warning("Readiness check failed: %s", error)
            return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok"})


def create_app() -> GatewayApp:
    """Build the application from the settings in the environment (uvicorn's factory)."""
    settings = ServerSettings.from_environment()
    configure_logging(settings.log_level)
    return GatewayApp(settings)
