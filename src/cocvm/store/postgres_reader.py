"""describeImages reads from PostgreSQL through an asyncpg connection pool.

asyncpg speaks PostgreSQL's binary protocol from the event loop and prepares each statement once per
connection, which makes it the fastest mature async driver. The count and the page come back in one
statement, so a request costs one round trip and sees one snapshot. Commands and migrations use
psycopg through SQLAlchemy instead, because they are synchronous.

Faults: a connection lost mid-request is retried once on another connection. StoreUnavailableError
is raised, so that the gateway answers 500 UNKNOWN instead of hanging, when the retry fails too,
when no connection is free or can be made within the pool timeout, or when a query runs longer
than the statement timeout. Timeouts are not retried, because a retry would double the wait that
those settings promise. The pool reconnects by itself when the server is back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import URL

from cocvm.store.database import PoolSettings
from cocvm.store.keys import StoredKey
from cocvm.store.query import ImageQuery, QueryCompiler
from cocvm.store.reader import StoreUnavailableError

logger = logging.getLogger(__name__)

ResultType = TypeVar("ResultType")

_KEY_SQL = (
    "SELECT pin, secret_ciphertext, enabled, created_at FROM access_keys WHERE access_key = $1"
)
# Errors after which another connection may succeed. TimeoutError, an OSError, is handled before.
_CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)


class PostgresCatalogReader:
    """Runs describeImages queries against a PostgreSQL catalog."""

    def __init__(self, pool: asyncpg.Pool, pool_settings: PoolSettings, description: str) -> None:
        self._pool = pool
        self._settings = pool_settings
        self._description = description
        self._compiler = QueryCompiler(asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]

    @classmethod
    async def open(cls, url: URL, pool_settings: PoolSettings) -> PostgresCatalogReader:
        """Create the connection pool; fails if the server cannot be reached."""
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=pool_settings.size + pool_settings.max_overflow,
            timeout=pool_settings.timeout_seconds,
            command_timeout=pool_settings.statement_timeout_seconds,
        )
        description = url.set(drivername="postgresql").render_as_string(hide_password=True)
        return cls(pool, pool_settings, description)

    async def describe(self, query: ImageQuery) -> tuple[int, list[bytes]]:
        """Return the total number of matches and the requested page of rendered images."""
        compiled = self._compiler.compile(query)
        arguments = compiled.combined_arguments(query.bind_values())

        async def run(connection: asyncpg.Connection) -> list[Any]:
            rows: list[Any] = await connection.fetch(compiled.combined_sql, *arguments)
            return rows

        rows = await self._with_connection(run)
        total = rows[0][0] if rows else 0
        documents = [row[1] for row in rows if row[1] is not None]
        return total, documents

    async def find_access_key(self, access_key: str) -> StoredKey | None:
        """Return an access key's current row, read fresh so that disabling takes effect at once."""

        async def run(connection: asyncpg.Connection) -> Any:
            return await connection.fetchrow(_KEY_SQL, access_key)

        row = await self._with_connection(run)
        if row is None:
            return None
        return StoredKey(access_key, row[0], row[1], row[2], row[3])

    def catalog_version(self) -> None:
        """Return None: other servers write to the same database, so responses are never cached."""
        return None

    async def ping(self) -> None:
        """Check that the database responds."""

        async def run(connection: asyncpg.Connection) -> Any:
            return await connection.fetchval("SELECT 1")

        await self._with_connection(run)

    async def close(self) -> None:
        """Close the pool's connections."""
        await self._pool.close()

    async def _with_connection(
        self, operation: Callable[[asyncpg.Connection], Awaitable[ResultType]]
    ) -> ResultType:
        for attempt in (1, 2):
            try:
                async with self._pool.acquire(timeout=self._settings.timeout_seconds) as connection:
                    return await operation(connection)
            except TimeoutError as error:
                logger.error(
                    "PostgreSQL timed out (%s): no connection was free or could be opened "
                    "within %s s, or a query ran longer than %s s",
                    self._description,
                    self._settings.timeout_seconds,
                    self._settings.statement_timeout_seconds,
                )
                raise StoreUnavailableError("PostgreSQL timed out") from error
            except _CONNECTION_ERRORS as error:
                if attempt == 1:
                    logger.warning(
                        "PostgreSQL query failed, retrying on another connection: %r", error
                    )
                    continue
                logger.error("PostgreSQL is unavailable (%s): %r", self._description, error)
                raise StoreUnavailableError(str(error) or type(error).__name__) from error
        raise AssertionError("unreachable")
