"""Throttling per access key: requests per second and per minute, in fixed windows.

With `--redis URL` the counts live in Redis through the `limits` library, so that every server
sharing the load counts against the same limits. When Redis cannot be reached or does not reply
within 2 s, the check lets the request through and logs a warning (at most every 10 s), because
throttling is a guard, not a reason to refuse all traffic. Without Redis the counts live in this
process, in `InProcessRateLimiter`: the same fixed windows as `limits`' MemoryStorage, which cost
13 us per request for two windows (its per-key locks, expiry timer and key strings) against about
1 us here.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from cocvm.errors import RateLimitExceeded

logger = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_SECOND = 200
DEFAULT_REQUESTS_PER_MINUTE = 12000
_WARNING_INTERVAL_SECONDS = 10.0
# The same bound as the nonce store's: a Redis that stops replying delays a request by at most this
# much before the check lets it through (redis-py's own default is 5 s).
_REDIS_TIMEOUT_SECONDS = 2.0


class RateLimiter(Protocol):
    """Counts each caller's requests and raises RateLimitExceeded past a limit."""

    async def check(self, identity: str) -> None:
        """Count one request for `identity`; raise RateLimitExceeded if a window is full."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def create_rate_limiter(
    redis_url: str | None,
    *,
    per_second: int = DEFAULT_REQUESTS_PER_SECOND,
    per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
) -> RateLimiter:
    """Return the in-process limiter, or the shared one for a `redis://` URL."""
    if redis_url is None:
        return InProcessRateLimiter(per_second=per_second, per_minute=per_minute)
    plain_url = redis_url.removeprefix("async+")
    # A pool of our own sets the timeouts and lets `close` release the connections, which the
    # `limits` storage cannot do. limits 5.8 hands `connection_pool` to redis-py although its
    # annotation of the storage options allows only str, float and bool.
    connection_pool = redis.asyncio.ConnectionPool.from_url(
        plain_url,
        socket_timeout=_REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
    )
    storage = RedisStorage(
        f"async+{plain_url}",
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix="cocvm",
        connection_pool=connection_pool,  # type: ignore[arg-type]
    )
    return SharedRateLimiter(
        storage,
        per_second=per_second,
        per_minute=per_minute,
        connection_pool=connection_pool,
    )


class InProcessRateLimiter:
    """Fixed windows counted in this process's memory.

    Windows are aligned to the wall clock (a second window starts on a whole second). Counts of
    finished windows are dropped once more than `max_identities` identities are tracked. Counts of
    current windows are always kept, so that a flood of new identities cannot reset a full window.
    """

    def __init__(
        self,
        *,
        per_second: int = DEFAULT_REQUESTS_PER_SECOND,
        per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        clock: Callable[[], float] = time.time,
        max_identities: int = 100_000,
    ) -> None:
        # (window length in seconds, allowed requests); a limit of 0 turns that window off.
        self._windows = [
            (length, amount) for length, amount in ((1, per_second), (60, per_minute)) if amount > 0
        ]
        self._clock = clock
        self._max_entries = max_identities * max(1, len(self._windows))
        # (identity, window length) -> (window number, requests counted in it)
        self._counts: dict[tuple[str, int], tuple[int, int]] = {}
        # While more identities than the maximum are in their current windows, none can be
        # dropped, so sweeping on every request would cost O(identities) each time.
        self._next_sweep = -math.inf

    async def check(self, identity: str) -> None:
        """Count one request for `identity`; raise RateLimitExceeded if a window is full."""
        now = self._clock()
        for length, amount in self._windows:
            window = int(now // length)
            key = (identity, length)
            counted_window, count = self._counts.get(key, (window, 0))
            if counted_window != window:
                count = 0
            count += 1
            self._counts[key] = (window, count)
            if count > amount:
                raise RateLimitExceeded(retry_after=max(1, math.ceil((window + 1) * length - now)))
        if len(self._counts) > self._max_entries and now >= self._next_sweep:
            self._forget_old_windows(now)
            self._next_sweep = math.floor(now) + 1

    def _forget_old_windows(self, now: float) -> None:
        self._counts = {
            key: (window, count)
            for key, (window, count) in self._counts.items()
            if window == int(now // key[1])
        }

    async def close(self) -> None:
        """Drop the counts. There are no connections to release."""
        self._counts.clear()


class SharedRateLimiter:
    """Fixed windows counted in `limits` storage shared by several servers (Redis)."""

    def __init__(
        self,
        storage: Storage,
        *,
        per_second: int = DEFAULT_REQUESTS_PER_SECOND,
        per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        connection_pool: redis.asyncio.ConnectionPool | None = None,
    ) -> None:
        self._storage = storage
        self._connection_pool = connection_pool
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
        # redis-py's exceptions have a repr without their message, so both are logged.
        logger.warning(
            "Rate limit storage unavailable, letting requests through: %s: %s "
            "(%d more such warnings suppressed)",
            type(error.storage_error).__name__,
            error.storage_error,
            self._suppressed_warnings,
        )
        self._last_warning = now
        self._suppressed_warnings = 0

    async def ping(self) -> bool:
        """Return whether the counters' storage responds."""
        try:
            return bool(await self._storage.check())
        except StorageError:
            return False

    async def close(self) -> None:
        """Close the connections to Redis."""
        if self._connection_pool is not None:
            await self._connection_pool.aclose()
