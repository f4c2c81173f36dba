"""Opening the catalog database and keeping its schema current.

A database is named by an SQLAlchemy URL: `sqlite:///path/to/file.db` (the default, a file in the current
folder) or `postgresql://user:password@host/dbname`. Schema changes are Alembic migrations shipped in
`cocvm.store.migrations`; an empty database is brought to the newest revision by the first command that
needs it, while one at an older revision is left alone until `cocvm db upgrade` runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///cocvm.db"


class SchemaBehindError(RuntimeError):
    """The database holds an older schema revision than this version of cocvm needs."""


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """Connection pool sizes for server databases (ignored for SQLite files)."""

    size: int = 5
    max_overflow: int = 5
    timeout_seconds: float = 5.0


def normalize_url(database_url: str) -> URL:
    """Parse a database URL and pick cocvm's driver for PostgreSQL (psycopg 3) when none is named."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
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
    """Return the newest schema revision this version of cocvm knows."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    assert head is not None, "cocvm ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision stored in the database, or None for a database without one."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Apply every migration the database lacks (what `cocvm db upgrade` runs)."""
    command.upgrade(_alembic_config(engine), "head")


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database, or check that an existing one is current.

    Raises SchemaBehindError when the database has an older revision, or tables but no revision,
    because migrating a live database is the operator's decision.
    """
    revision = current_revision(engine)
    if revision is None:
        if inspect(engine).get_table_names():
            raise SchemaBehindError(
                "The database has tables but no cocvm schema revision. "
                "Point --database at an empty database or at one created by cocvm."
            )
        logger.info("Creating the catalog schema in %s", engine.url.render_as_string())
        upgrade_schema(engine)
        return

    head = head_revision(engine)
    if revision != head:
        raise SchemaBehindError(
            f"The database schema is at revision {revision}, but this cocvm needs {head}. "
            "Run `cocvm db upgrade --database URL` to migrate it."
        )
