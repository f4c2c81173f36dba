"""Opening the catalog database and keeping its schema current.

A database is named by an SQLAlchemy URL: `sqlite:///path/to/file.db` (the default, a file in the
current folder) or `postgresql://user:password@host/dbname`. Schema changes are Alembic migrations
shipped in `cocvm.store.migrations`. The first command that needs an empty database brings it to the
newest revision, while one at an older revision is left alone until `cocvm db upgrade` runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///cocvm.db"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class SchemaBehindError(RuntimeError):
    """The database schema is not the one this cocvm needs (older, unknown, or not cocvm's)."""


class DatabaseUrlError(ArgumentError):
    """A database URL that cannot be parsed or names a database cocvm does not support.

    It is an SQLAlchemy ArgumentError, so callers that handle SQLAlchemyError handle it too.
    """


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """Connection pool sizes for server databases (ignored for SQLite files)."""

    size: int = 10
    max_overflow: int = 5
    # How long a request waits for a connection, and for a new connection to open.
    timeout_seconds: float = 2.0
    # How long one statement may run before the request fails with 500 UNKNOWN.
    statement_timeout_seconds: float = 5.0


def normalize_url(database_url: str) -> URL:
    """Parse a database URL and pick cocvm's driver for PostgreSQL (psycopg 3) when none is named.

    Raises DatabaseUrlError for a URL that does not parse or names neither SQLite nor PostgreSQL.
    """
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"Invalid database URL '{database_url}'. "
            "Use sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DBNAME."
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseUrlError(
            f"Unsupported database '{url.get_backend_name()}' in the database URL. "
            "Use sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DBNAME."
        )
    return url


def create_catalog_engine(database_url: str, pool: PoolSettings | None = None) -> Engine:
    """Create a synchronous engine for commands and migrations."""
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine

    pool = pool or PoolSettings()
    return create_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_seconds,
        pool_pre_ping=True,
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets a running server keep reading while `cocvm images import` writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", "cocvm.store:migrations")
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str:
    """Return the newest schema revision that this version of cocvm ships."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    assert head is not None, "cocvm ships at least one migration"
    return head


def is_known_revision(engine: Engine, revision: str) -> bool:
    """Return whether `revision` is one of the migrations this version of cocvm ships."""
    script = ScriptDirectory.from_config(_alembic_config(engine))
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision stored in the database, or None for a database without one."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Apply every migration the database lacks (what `cocvm db upgrade` runs).

    Raises SchemaBehindError when the database is at a revision this cocvm does not ship.
    """
    revision = current_revision(engine)
    if revision is not None and not is_known_revision(engine, revision):
        raise _unknown_revision_error(revision)
    command.upgrade(_alembic_config(engine), "head")


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database, or check that an existing one is current.

    Raises SchemaBehindError when the database has an older or unknown revision, or tables but no
    revision, because migrating a live database is the operator's decision.
    """
    revision = current_revision(engine)
    if revision is None:
        if inspect(engine).get_table_names():
            raise SchemaBehindError(
                "The database has tables but no cocvm schema revision. "
                "Point --database at an empty database or at one created by cocvm, "
                "or run `cocvm db upgrade --database URL` to add cocvm's tables to it."
            )
        logger.info("Creating the catalog schema in %s", engine.url.render_as_string())
        upgrade_schema(engine)
        return

    if not is_known_revision(engine, revision):
        raise _unknown_revision_error(revision)
    head = head_revision(engine)
    if revision != head:
        raise SchemaBehindError(
            f"The database schema is at revision {revision}, but this cocvm needs {head}. "
            "Run `cocvm db upgrade --database URL` to migrate it."
        )


def describe_database_error(error: SQLAlchemyError) -> str:
    """Return the message of a database error without the SQL statement and its parameters.

    SQLAlchemy's own message quotes the statement and every bound parameter, which for a bulk
    import is megabytes of catalog data.
    """
    if isinstance(error, DBAPIError) and error.orig is not None:
        # PostgreSQL adds "LINE 1: <statement>" and "DETAIL: Failing row contains (...)" lines
        # after its primary message; only the first line is safe to show.
        first_line = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
        return f"{type(error.orig).__name__}: {first_line}"
    return str(error)


def _unknown_revision_error(revision: str) -> SchemaBehindError:
    return SchemaBehindError(
        f"The database schema is at revision {revision}, which this cocvm does not know. "
        "A newer cocvm may have migrated it. Use a cocvm version that ships that revision."
    )
