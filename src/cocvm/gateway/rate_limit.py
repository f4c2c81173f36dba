"""Throttling per access key with the `limits` library: requests per second and per minute.

Counts live in this process by default, or in Redis (`--redis URL`) so that every server sharing the
load counts against the same limits. Fixed windows keep each check to one counter increment. When
Redis cannot be reached the check lets the request through and logs a warning (at most every 10 s),
because throttling is a guard, not a reason to refuse all traffic.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from cocvm.errors import RateLimitExceeded

logger = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_SECOND = 200
DEFAULT_REQUESTS_PER_MINUTE = 12000
_WARNING_INTERVAL_SECONDS = 10.0


def limits_storage(redis_url: str | None) -> Storage:
    """Return in-process storage, or Redis storage for a `redis://` URL."""
    if redis_url is None:
        return MemoryStorage()
    uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    return RedisStorage(uri, implementation="redispy", wrap_exceptions=True, key_prefix="cocvm")


class RateLimiter:
    """Counts each caller's requests and raises RateLimitExceeded past a limit."""

    def __init__(
        self,
        storage: Storage,
        *,
        per_second: int = DEFAULT_REQUESTS_PER_SECOND,
        per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
    ) -> None:
        self._storage = storage
        self._strategy = FixedWindowRateLimiter(storage)
        # A limit of 0 turns that window off.
        self._items: list[RateLimitItem] = []
        if per_second > 0:
            self._items.append(RateLimitItemPerSecond(per_second))
        if per_minute > 0:
            self._items.append(RateLimitItemPerMinute(per_minute))
        self._last_warning = 0.0
        self._suppressed_warnings = 0

    async def check(self, identity: str) -> None:
        """Count one request for `identity`; raise RateLimitExceeded if a window is full."""
        for item in self._items:
            try:
                allowed = await self._strategy.hit(item, identity)
                if allowed:
                    continue
                stats = await self._strategy.get_window_stats(item, identity)
            except StorageError as error:
                self._warn_unavailable(error)
                return
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            # JD Cloud's gateway documents one message for per-key throttling, whatever the window.
            raise RateLimitExceeded(retry_after=retry_after)

    def _warn_unavailable(self, error: StorageError) -> None:
        now = time.monotonic()
        if now - self._last_warning < _WARNING_INTERVAL_SECONDS:
            self._suppressed_warnings += 1
            return
        logger.warning(
            "Rate limit storage unavailable, letting requests through: %r "
            "(%d more such warnings suppressed)",
            error.storage_error,
            self._suppressed_warnings,
        )
        self._last_warning = now
        self._suppressed_warnings = 0

    async def ping(self) -> bool:
        """Return whether the counters' storage answers."""
        try:
            return bool(await self._storage.check())
        except StorageError:
            return False
