"""Memory of signed nonces already seen, so that a captured request cannot be sent again.

A nonce must be remembered for as long as its request's time is acceptable: the clock-skew window
on either side of the request time, so twice the skew. The in-process store keeps at most
`max_entries` nonces and forgets the oldest first beyond that; with `--redis` every server shares
one store (see `RedisNonceStore`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio
import redis.exceptions


class NonceStore(Protocol):
    """Remembers nonces for a time."""

    async def remember(self, key: str, ttl_seconds: int) -> bool:
        """Store `key` for `ttl_seconds`; return False if it is already stored and not expired."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryNonceStore:
    """Nonces in this process's memory, oldest forgotten first once `max_entries` is reached."""

    def __init__(
        self, max_entries: int = 1_000_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._expiry_by_key: OrderedDict[str, float] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    async def remember(self, key: str, ttl_seconds: int) -> bool:
        now = self._clock()
        self._forget_expired(now)
        expiry = self._expiry_by_key.get(key)
        if expiry is not None and expiry > now:
            return False
        self._expiry_by_key[key] = now + ttl_seconds
        self._expiry_by_key.move_to_end(key)
        while len(self._expiry_by_key) > self._max_entries:
            self._expiry_by_key.popitem(last=False)
        return True

    def _forget_expired(self, now: float) -> None:
        # Entries are in insertion order and share one TTL, so expired ones sit at the front.
        while self._expiry_by_key:
            oldest_key, oldest_expiry = next(iter(self._expiry_by_key.items()))
            if oldest_expiry > now:
                return
            del self._expiry_by_key[oldest_key]

    async def close(self) -> None:
        self._expiry_by_key.clear()


class NonceStoreUnavailableError(RuntimeError):
    """The shared nonce store could not be reached."""


class RedisNonceStore:
    """Nonces in Redis, shared by every server: one `SET key 1 NX EX ttl` per signed nonce.

    If Redis cannot be reached the request fails (500 UNKNOWN) rather than skipping the replay
    check, because a skipped check would let a captured request through.
    """

    def __init__(self, redis_url: str) -> None:
        self._client = redis.asyncio.Redis.from_url(
            redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )

    async def remember(self, key: str, ttl_seconds: int) -> bool:
        try:
            stored = await self._client.set(f"cocvm:nonce:{key}", b"1", nx=True, ex=ttl_seconds)
        except (redis.exceptions.RedisError, OSError) as error:
            raise NonceStoreUnavailableError(str(error)) from error
        return bool(stored)

    async def ping(self) -> bool:
        """Return whether Redis responds."""
        try:
            return bool(await self._client.ping())
        except (redis.exceptions.RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._client.aclose()
