"""A per-process cache of describeImages answers, for stores that can say when they changed.

An answer depends only on the region, the raw query string and the caller's pin (the profile is
fixed per server), so those are the key. Every entry belongs to one catalog version: when the store
reports another version, the whole cache is dropped before the lookup. A store that cannot report a
version cheaply (PostgreSQL, which other servers write to) gets no caching at all. Only successful
answers are stored; errors are computed every time.

The cache is bounded by entries and by bytes, because callers choose the keys: unknown query
parameters are ignored, so every new parameter name or value makes a new key, and one answer of
100 images is about 70 KB.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_CACHED_ANSWERS = 4096
MAX_CACHED_BYTES = 64 * 1024 * 1024

AnswerKey = tuple[str, bytes, str | None]


class AnswerCache:
    """Answers by (region, raw query string, caller pin), valid for one catalog version.

    When a limit is reached, the least recently used answers are dropped first.
    """

    def __init__(
        self, max_entries: int = MAX_CACHED_ANSWERS, max_bytes: int = MAX_CACHED_BYTES
    ) -> None:
        self._answers: OrderedDict[AnswerKey, bytes] = OrderedDict()
        self._version: int | None = None
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._size_bytes = 0

    def get(self, version: int, key: AnswerKey) -> bytes | None:
        """Return the cached answer, after dropping every entry if the version moved."""
        if version != self._version:
            self._answers.clear()
            self._size_bytes = 0
            self._version = version
            return None
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, version: int, key: AnswerKey, answer: bytes) -> None:
        """Store an answer computed at `version`, dropping the least recently used beyond a limit.

        An answer larger than the whole byte limit is not stored.
        """
        if version != self._version or len(answer) > self._max_bytes:
            return
        replaced = self._answers.pop(key, None)
        if replaced is not None:
            self._size_bytes -= len(replaced)
        self._answers[key] = answer
        self._size_bytes += len(answer)
        while len(self._answers) > self._max_entries or self._size_bytes > self._max_bytes:
            _, dropped = self._answers.popitem(last=False)
            self._size_bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def size_bytes(self) -> int:
        """Bytes of the answers held."""
        return self._size_bytes
