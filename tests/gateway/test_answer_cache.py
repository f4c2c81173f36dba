"""The per-process cache of describeImages answers, valid for one catalog version."""

from __future__ import annotations

from cocvm.gateway.answer_cache import AnswerCache, AnswerKey


def key(query: str, pin: str | None = "alice") -> AnswerKey:
    return ("cn-north-1", query.encode(), pin)


def test_answer_cache_hit_same_version() -> None:
    cache = AnswerCache()
    cache.get(1, key("a"))
    cache.put(1, key("a"), b"answer")

    assert cache.get(1, key("a")) == b"answer"


def test_answer_cache_pin_is_part_of_key() -> None:
    cache = AnswerCache()
    cache.get(1, key("a"))
    cache.put(1, key("a", pin="alice"), b"answer")

    assert cache.get(1, key("a", pin="bob")) is None
    assert cache.get(1, key("a", pin=None)) is None


def test_answer_cache_new_version_drops_all() -> None:
    cache = AnswerCache()
    cache.get(1, key("a"))
    cache.put(1, key("a"), b"answer")

    assert cache.get(2, key("a")) is None
    assert cache.get(1, key("a")) is None
    assert len(cache) == 0
    assert cache.size_bytes == 0


def test_answer_cache_put_for_old_version_ignored() -> None:
    cache = AnswerCache()
    cache.get(2, key("a"))
    cache.put(1, key("a"), b"stale")

    assert cache.get(2, key("a")) is None


def test_answer_cache_entry_limit_drops_oldest() -> None:
    cache = AnswerCache(max_entries=2)
    cache.get(1, key("a"))
    for query in ("a", "b", "c"):
        cache.put(1, key(query), query.encode())

    assert cache.get(1, key("a")) is None
    assert cache.get(1, key("b")) == b"b"
    assert cache.get(1, key("c")) == b"c"


def test_answer_cache_keeps_recently_used() -> None:
    cache = AnswerCache(max_entries=2)
    cache.get(1, key("a"))
    cache.put(1, key("a"), b"a")
    cache.put(1, key("b"), b"b")
    cache.get(1, key("a"))
    cache.put(1, key("c"), b"c")

    assert cache.get(1, key("a")) == b"a"
    assert cache.get(1, key("b")) is None


def test_answer_cache_byte_limit() -> None:
    cache = AnswerCache(max_entries=100, max_bytes=250)
    cache.get(1, key("first"))
    for number in range(10):
        cache.put(1, key(str(number)), b"x" * 100)

    assert len(cache) == 2
    assert cache.size_bytes == 200
    assert cache.get(1, key("9")) == b"x" * 100


def test_answer_cache_oversized_answer_not_stored() -> None:
    cache = AnswerCache(max_bytes=10)
    cache.get(1, key("a"))
    cache.put(1, key("a"), b"x" * 11)

    assert cache.get(1, key("a")) is None
    assert cache.size_bytes == 0


def test_answer_cache_replaced_answer_counted_once() -> None:
    cache = AnswerCache(max_bytes=1000)
    cache.get(1, key("a"))
    cache.put(1, key("a"), b"x" * 100)
    cache.put(1, key("a"), b"y" * 300)

    assert cache.size_bytes == 300
    assert cache.get(1, key("a")) == b"y" * 300
