"""A per-process cache of describeImages answers, for stores that can say when they changed.

An answer depends only on the region, the raw query string and the caller's pin (the profile is
fixed per server), so those are the key. Every entry belongs to one catalog version: when the store
reports another version, the whole cache is dropped before the lookup. A store that cannot report a
version cheaply (PostgreSQL, which other servers write to) gets no caching at all. Only successful
answers are stored; errors are computed every time.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_CACHED_ANSWERS = 4096

AnswerKey = tuple[str, bytes, str | None]


class AnswerCache:
    """Answers by (region, raw query string, caller pin), valid for one catalog version."""

    def __init__(self, max_entries: int = MAX_CACHED_ANSWERS) -> None:
        self._answers: OrderedDict[AnswerKey, bytes] = OrderedDict()
        self._version: int | None = None
        self._max_entries = max_entries

    def get(self, version: int, key: AnswerKey) -> bytes | None:
        """Return the cached answer, after dropping every entry if the version moved."""
        if version != self._version:
            self._answers.clear()
            self._version = version
            return None
        return self._answers.get(key)

    def put(self, version: int, key: AnswerKey, answer: bytes) -> None:
        """Store an answer computed at `version`; the oldest entry goes when the cache is full."""
        if version != self._version:
            return
        self._answers[key] = answer
        if len(self._answers) > self._max_entries:
            self._answers.popitem(last=False)
