import asyncio

from cocvm.gateway.nonces import MemoryNonceStore


class FakeClock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def remember(store: MemoryNonceStore, key: str, ttl_seconds: int = 60) -> bool:
    return asyncio.run(store.remember(key, ttl_seconds))


def test_memory_nonces_first_use_accepted() -> None:
    store = MemoryNonceStore(clock=FakeClock())

    assert remember(store, "ak:n1") is True


def test_memory_nonces_repeat_rejected() -> None:
    store = MemoryNonceStore(clock=FakeClock())
    remember(store, "ak:n1")

    assert remember(store, "ak:n1") is False


def test_memory_nonces_keys_independent() -> None:
    store = MemoryNonceStore(clock=FakeClock())
    remember(store, "ak:n1")

    assert remember(store, "ak:n2") is True
    assert remember(store, "other:n1") is True


def test_memory_nonces_remembered_until_ttl() -> None:
    clock = FakeClock()
    store = MemoryNonceStore(clock=clock)
    remember(store, "ak:n1", ttl_seconds=60)

    clock.now += 59.9
    assert remember(store, "ak:n1", ttl_seconds=60) is False


def test_memory_nonces_forgotten_after_ttl() -> None:
    clock = FakeClock()
    store = MemoryNonceStore(clock=clock)
    remember(store, "ak:n1", ttl_seconds=60)

    clock.now += 60
    assert remember(store, "ak:n1", ttl_seconds=60) is True
    assert remember(store, "ak:n1", ttl_seconds=60) is False


def test_memory_nonces_expired_entries_dropped() -> None:
    clock = FakeClock()
    store = MemoryNonceStore(clock=clock)
    for index in range(100):
        remember(store, f"ak:old-{index}", ttl_seconds=10)

    clock.now += 11
    remember(store, "ak:new", ttl_seconds=10)

    assert len(store._expiry_by_key) == 1


def test_memory_nonces_oldest_evicted_past_max_entries() -> None:
    store = MemoryNonceStore(max_entries=3, clock=FakeClock())
    for key in ("k1", "k2", "k3", "k4"):
        remember(store, key)

    assert remember(store, "k1") is True
    assert remember(store, "k4") is False


def test_memory_nonces_close_forgets_all() -> None:
    store = MemoryNonceStore(clock=FakeClock())
    remember(store, "ak:n1")

    asyncio.run(store.close())

    assert remember(store, "ak:n1") is True
