"""The ASGI application: JD Cloud's describeImages route, plus operations endpoints.

The describeImages route is served by plain ASGI code rather than through a framework's router and
request objects, because on this route the framework cost more than the query itself. Operations
endpoints (`/healthz`, `/readyz`, `/metrics`) are a small Starlette app behind it; they respond
without a signature. Every reply on any other path, errors included, is JD Cloud's JSON envelope
with a request id; nothing ever returns a stack trace or HTML.

A describeImages request goes through: request line length, route, signature (the caller), rate
limit, then the image service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cocvm.errors import (
    ApiError,
    InternalError,
    RateLimitExceeded,
    RouteNotFound,
    ServiceUnavailable,
    UriTooLong,
)
from cocvm.gateway.access_log import configure_logging, flush_access_log, log_request
from cocvm.gateway.answer_cache import AnswerCache
from cocvm.gateway.authentication import Authenticator, AuthMode
from cocvm.gateway.envelope import error_body, new_request_id, send_json, success_body
from cocvm.gateway.metrics import REDIS_ERRORS, STORE_ERRORS, RequestMetrics, render_metrics
from cocvm.gateway.nonces import (
    MemoryNonceStore,
    NonceStore,
    NonceStoreUnavailableError,
    RedisNonceStore,
)
from cocvm.gateway.query import decode_query
from cocvm.gateway.rate_limit import RateLimiter, create_rate_limiter
from cocvm.gateway.settings import ServerSettings
from cocvm.images.describe import ImageService
from cocvm.images.visibility import Caller
from cocvm.store.reader import CatalogReader, StoreUnavailableError, open_catalog_reader
from cocvm.store.secret_box import load_secret_box

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DESCRIBE_IMAGES_ROUTE = "describeImages"
UNKNOWN_ROUTE = "unknown"

_ROUTE_PREFIX = "/v1/regions/"
_ROUTE_SUFFIX = "/images"
# Paths the operations app serves; all other paths get JD Cloud's "no route" envelope.
_OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


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
        self._rate_limiter: RateLimiter | None = None
        self._nonces: NonceStore | None = None
        self._metrics = RequestMetrics()
        self._answers = AnswerCache()
        self._operations = Starlette(
            routes=[
                Route("/healthz", self._healthz, methods=["GET"]),
                Route("/readyz", self._readyz, methods=["GET"]),
                Route("/metrics", self._metrics_endpoint, methods=["GET"]),
            ],
            # JSON for every failure here too, never Starlette's plain-text pages.
            exception_handlers={
                HTTPException: _operations_http_error,
                Exception: _operations_internal_error,
            },
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
        extra_headers: list[tuple[bytes, bytes]] | None = None
        try:
            self._check_request_line(scope)
            if region_id is None or method != "GET":
                raise RouteNotFound()
            status, body = 200, await self._describe_images(scope, region_id, request_id)
        except RateLimitExceeded as error:
            status, body = error.http_status, error_body(request_id, error)
            extra_headers = [(b"retry-after", str(error.retry_after).encode("ascii"))]
        except ApiError as error:
            status, body = error.http_status, error_body(request_id, error)
        except StoreUnavailableError:
            STORE_ERRORS.inc()
            status, body = 500, error_body(request_id, ServiceUnavailable())
        except NonceStoreUnavailableError as error:
            REDIS_ERRORS.inc()
            logger.error(
                "Redis is unavailable for the nonce check: %s",
                error,
                extra={"fields": {"requestId": request_id}},
            )
            status, body = 500, error_body(request_id, ServiceUnavailable())
        except Exception:
            logger.exception("describeImages failed", extra={"fields": {"requestId": request_id}})
            status, body = 500, error_body(request_id, InternalError())

        await send_json(send, status, body, request_id, extra_headers)
        route = UNKNOWN_ROUTE if region_id is None else DESCRIBE_IMAGES_ROUTE
        self._metrics.observe(route, status, time.perf_counter() - started)
        log_request(request_id, method, path, status, started)

    async def _describe_images(self, scope: Scope, region_id: str, request_id: str) -> bytes:
        assert self._service is not None, "the lifespan startup opens the service"
        assert self._authenticator is not None and self._rate_limiter is not None
        caller = await self._authenticator.authenticate(scope, region_id)
        await self._rate_limiter.check(self._rate_limit_identity(scope, caller))

        query_string: bytes = scope["query_string"]
        version = self._reader.catalog_version() if self._reader is not None else None
        cache_key = (region_id, query_string, caller.pin)
        if version is not None:
            cached = self._answers.get(version, cache_key)
            if cached is not None:
                return success_body(request_id, cached)

        query = decode_query(query_string)
        result = await self._service.describe_images(region_id, query.values, query.arrays, caller)
        if version is not None:
            self._answers.put(version, cache_key, result)
        return success_body(request_id, result)

    def _rate_limit_identity(self, scope: Scope, caller: Caller) -> str:
        access_key = caller.access_key
        if access_key is not None:
            return f"ak:{access_key}"
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"

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
        settings = self._settings
        self._reader = await open_catalog_reader(settings.database_url, settings.pool)
        self._service = ImageService(
            self._reader, profile=settings.profile, regions=settings.regions
        )
        self._nonces = (
            RedisNonceStore(settings.redis_url) if settings.redis_url else MemoryNonceStore()
        )
        secret_box = (
            load_secret_box(settings.server_key_file, create=True)
            if settings.auth_mode is AuthMode.STRICT
            else None
        )
        self._authenticator = Authenticator(
            settings.auth_mode,
            self._reader,
            secret_box,
            self._nonces,
            max_clock_skew_seconds=settings.max_clock_skew_seconds,
        )
        self._rate_limiter = create_rate_limiter(
            settings.redis_url,
            per_second=settings.rate_limit_per_second,
            per_minute=settings.rate_limit_per_minute,
        )

    async def _stop(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._nonces is not None:
            await self._nonces.close()
            self._nonces = None
        if self._rate_limiter is not None:
            await self._rate_limiter.close()
            self._rate_limiter = None
        flush_access_log()

    async def _healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def _readyz(self, request: Request) -> JSONResponse:
        if self._reader is None or self._rate_limiter is None:
            return JSONResponse({"status": "starting"}, status_code=503)

        checks = {"store": "ok"}
        try:
            await self._reader.ping()
        except StoreUnavailableError as error:
            logger.warning("Readiness check: the catalog store is unreachable: %s", error)
            checks["store"] = "unreachable"
        if self._settings.redis_url:
            redis_ok = isinstance(self._nonces, RedisNonceStore) and await self._nonces.ping()
            checks["redis"] = "ok" if redis_ok else "unreachable"
            if not redis_ok:
                logger.warning("Readiness check: Redis is unreachable")

        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", **checks},
            status_code=200 if ready else 503,
        )

    async def _metrics_endpoint(self, request: Request) -> Response:
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)


async def _operations_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return JSONResponse(
        {"status": "error", "message": error.detail},
        status_code=error.status_code,
        headers=error.headers,
    )


async def _operations_internal_error(request: Request, error: Exception) -> Response:
    logger.error("Operations endpoint %s failed: %r", request.url.path, error)
    return JSONResponse({"status": "error", "message": "Internal server error"}, status_code=500)


def create_app() -> GatewayApp:
    """Build the application from the settings in the environment (uvicorn's factory)."""
    settings = ServerSettings.from_environment()
    configure_logging(settings.log_level)
    return GatewayApp(settings)
