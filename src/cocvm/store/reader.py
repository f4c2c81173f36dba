"""The read side of the catalog store that describeImages uses, and how to open it from a URL."""

from __future__ import annotations

from typing import Protocol

from cocvm.store.database import PoolSettings, normalize_url
from cocvm.store.keys import StoredKey
from cocvm.store.query import ImageQuery


class StoreUnavailableError(RuntimeError):
    """The catalog store could not be read: unreachable, timed out, or the file is missing."""


class CatalogReader(Protocol):
    """Runs describeImages queries. One reader serves one server process."""

    async def describe(self, query: ImageQuery) -> tuple[int, list[bytes]]:
        """Return the number of images the query matches and its page of rendered images."""
        ...

    async def find_access_key(self, access_key: str) -> StoredKey | None:
        """Return an access key's row, or None when no such key exists."""
        ...

    def catalog_version(self) -> int | None:
        """Return a number that changes whenever the catalog or the keys change, if the store
        can tell cheaply; None means it cannot, and responses must not be cached."""
        ...

    async def ping(self) -> None:
        """Raise StoreUnavailableError unless the store responds."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


async def open_catalog_reader(database_url: str, pool: PoolSettings | None = None) -> CatalogReader:
    """Open the reader that fits the database URL's backend."""
    url = normalize_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        from cocvm.store.sqlite_reader import SqliteCatalogReader

        if not url.database or url.database == ":memory:":
            raise ValueError("the server needs an SQLite file, not an in-memory database")
        return SqliteCatalogReader(url.database)
    if backend == "postgresql":
        from cocvm.store.postgres_reader import PostgresCatalogReader

        return await PostgresCatalogReader.open(url, pool or PoolSettings())
    raise ValueError(f"unsupported database backend for the server: {backend}")
