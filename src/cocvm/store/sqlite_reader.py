"""describeImages reads from an SQLite file, on the event loop's own thread.

A local SQLite read of one page takes tens of microseconds, less than handing it to a thread pool
would cost, so the reader runs it inline. Each server process keeps one connection; requests cannot
interleave on it because a read never awaits between its statements.

The file's version is SQLite's `PRAGMA data_version`. The server's connection only reads, so every
change comes from another connection (an import, a key command), and the version then moves. The
gateway caches describeImages responses under this version (see `catalog_version`), and the
reader caches access key rows the same way.
"""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy.dialects import sqlite

from cocvm.store.keys import StoredKey
from cocvm.store.query import ImageQuery, QueryCompiler
from cocvm.store.reader import StoreUnavailableError

logger = logging.getLogger(__name__)

MAX_CACHED_KEYS = 4096


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
        self._keys: dict[str, StoredKey | None] = {}

    def catalog_version(self) -> int:
        """Return a number that changes whenever another connection commits to the file."""
        try:
            (version,) = self._connection.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error as error:
            logger.warning("Reading the SQLite catalog %s failed: %s", self._path, error)
            raise StoreUnavailableError(str(error)) from error
        if version != self._data_version:
            self._keys.clear()
            self._data_version = version
        return int(version)

    async def describe(self, query: ImageQuery) -> tuple[int, list[bytes]]:
        """Return the total number of matches and the requested page of rendered images."""
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
                    cursor = connection.execute(compiled.page_sql, compiled.page_arguments(values))
                    documents = [document for (document,) in cursor]
            finally:
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            logger.warning("Reading the SQLite catalog %s failed: %s", self._path, error)
            raise StoreUnavailableError(str(error)) from error
        return total, documents

    async def find_access_key(self, access_key: str) -> StoredKey | None:
        """Return an access key's row; a key command's commit drops the cached rows at once."""
        self.catalog_version()
        try:
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
        if len(self._keys) >= MAX_CACHED_KEYS:
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
