"""describeImages reads from an SQLite file, on the event loop's own thread.

A local SQLite read of one page takes tens of microseconds, less than handing it to a thread pool would
cost, so the reader runs it inline. Each server process keeps one connection; requests cannot interleave
on it because a read never awaits between its statements.

Answers are cached per process until the file changes. The server's connection only reads, so every
change comes from another connection (an import, a key command), and SQLite's `PRAGMA data_version`
then returns a new value: the reader checks it on each call and drops the whole cache when it moved.
Cache keys are the complete query, caller's pin included, so one caller's answer never serves another.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import OrderedDict

from sqlalchemy.dialects import sqlite

from cocvm.store.keys import StoredKey
from cocvm.store.query import ImageQuery, QueryCompiler
from cocvm.store.reader import StoreUnavailableError

logger = logging.getLogger(__name__)

MAX_CACHED_ANSWERS = 4096


class SqliteCatalogReader:
    """Runs describeImages queries against an SQLite catalog file."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._compiler = QueryCompiler(sqlite.dialect())
        # Autocommit mode, so that BEGIN below opens the read snapshot explicitly.
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA busy_timeout=2000")
        self._connection.execute("PRAGMA query_only=ON")
        self._data_version: int | None = None
        self._answers: OrderedDict[ImageQuery, tuple[int, list[bytes]]] = OrderedDict()
        self._keys: dict[str, StoredKey | None] = {}

    def _drop_cache_if_changed(self) -> None:
        (version,) = self._connection.execute("PRAGMA data_version").fetchone()
        if version != self._data_version:
            self._answers.clear()
            self._keys.clear()
            self._data_version = version

    async def describe(self, query: ImageQuery) -> tuple[int, list[bytes]]:
        """Return the total number of matches and the requested page of rendered images."""
        try:
            self._drop_cache_if_changed()
        except sqlite3.Error as error:
            logger.warning("Reading the SQLite catalog %s failed: %s", self._path, error)
            raise StoreUnavailableError(str(error)) from error
        cached = self._answers.get(query)
        if cached is not None:
            return cached

        answer = self._query(query)
        self._answers[query] = answer
        if len(self._answers) > MAX_CACHED_ANSWERS:
            self._answers.popitem(last=False)
        return answer

    def _query(self, query: ImageQuery) -> tuple[int, list[bytes]]:
        compiled = self._compiler.compile(query)
        values = query.bind_values()
        connection = self._connection
        try:
            # One read transaction, so that totalCount and the page come from the same snapshot.
            connection.execute("BEGIN")
            try:
                (total,) = connection.execute(
                    compiled.count_sql, compiled.count_arguments(values)
                ).fetchone()
                documents: list[bytes] = []
                if query.offset < total:
                    cursor = connection.execute(
                        compiled.page_sql, compiled.page_arguments(values)
                    )
                    documents = [document for (document,) in cursor]
            finally:
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            logger.warning("Reading the SQLite catalog %s failed: %s", self._path, error)
            raise StoreUnavailableError(str(error)) from error
        return total, documents

    async def find_access_key(self, access_key: str) -> StoredKey | None:
        """Return an access key's row; a key command's commit drops the cached rows at once."""
        try:
            self._drop_cache_if_changed()
            if access_key in self._keys:
                return self._keys[access_key]
            row = self._connection.execute(
                "SELECT pin, secret_ciphertext, enabled, created_at FROM access_keys "
                "WHERE access_key = ?",
                (access_key,),
            ).fetchone()
        except sqlite3.Error as error:
            logger.warning("Reading access keys from %s failed: %s", self._path, error)
            raise StoreUnavailableError(str(error)) from error
        stored = None
        if row is not None:
            pin, ciphertext, enabled, created_at = row
            stored = StoredKey(access_key, pin, ciphertext, bool(enabled), created_at)
        if len(self._keys) >= MAX_CACHED_ANSWERS:
            self._keys.clear()
        self._keys[access_key] = stored
        return stored

    async def ping(self) -> None:
        """Check that the catalog file can be read."""
        try:
            self._connection.execute("SELECT 1 FROM images LIMIT 1").fetchall()
        except sqlite3.Error as error:
            raise StoreUnavailableError(str(error)) from error

    async def close(self) -> None:
        """Close the connection."""
        self._connection.close()
