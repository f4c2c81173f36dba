"""The catalog schema: migrations, revision checks, and how databases are opened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from cocvm.images.catalog_file import parse_catalog, to_rows
from cocvm.store.database import (
    DatabaseUrlError,
    PoolSettings,
    SchemaBehindError,
    create_catalog_engine,
    current_revision,
    describe_database_error,
    ensure_schema,
    head_revision,
    is_known_revision,
    normalize_url,
    upgrade_schema,
)
from cocvm.store.schema import metadata
from cocvm.store.writer import upsert_images


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration for cocvm's migrations, as cocvm builds it."""
    config = Config()
    config.set_main_option("script_location", "cocvm.store:migrations")
    config.attributes["engine"] = engine
    return config


def base_revision(engine: Engine) -> str:
    base = ScriptDirectory.from_config(alembic_config(engine)).get_base()
    assert isinstance(base, str)
    return base


def set_revision(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
        )


def shared_record(image_id: str) -> bytes:
    """Return a catalog file with one private image, shared with the pin bob."""
    return (
        b'{"regionId": "cn-north-1", "imageId": "%s", "name": "n", "platform": "Ubuntu",'
        b' "architecture": "x86_64", "osType": "linux", "imageSource": "private",'
        b' "ownerPin": "alice", "createTime": "2024-03-01 08:00:00", "sharedWith": ["bob"]}'
    ) % image_id.encode()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a new, empty SQLite file, then on a new, empty PostgreSQL database."""
    catalog_engine = create_catalog_engine(database_url)
    yield catalog_engine
    catalog_engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    catalog_engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield catalog_engine
    catalog_engine.dispose()


def test_schema_fresh_database_gets_newest_revision(engine: Engine) -> None:
    ensure_schema(engine)

    assert current_revision(engine) == head_revision(engine)


def test_schema_fresh_database_has_catalog_tables(engine: Engine) -> None:
    ensure_schema(engine)

    tables = set(inspect(engine).get_table_names())

    assert {"images", "image_shares", "alembic_version"} <= tables


def test_schema_migrations_match_table_definitions(engine: Engine) -> None:
    ensure_schema(engine)

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)

    assert differences == []


def test_schema_ensure_twice_is_harmless(engine: Engine) -> None:
    ensure_schema(engine)

    ensure_schema(engine)

    assert current_revision(engine) == head_revision(engine)


def test_schema_new_database_has_no_revision(engine: Engine) -> None:
    assert current_revision(engine) is None


def test_schema_older_revision_rejected(engine: Engine) -> None:
    base = base_revision(engine)
    assert base != head_revision(engine), "the test needs a revision older than the newest"
    command.upgrade(alembic_config(engine), base)

    with pytest.raises(SchemaBehindError) as raised:
        ensure_schema(engine)

    message = str(raised.value)
    assert f"at revision {base}" in message
    assert "cocvm db upgrade" in message


def test_schema_upgrade_from_older_revision(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), base_revision(engine))

    upgrade_schema(engine)

    assert current_revision(engine) == head_revision(engine)


def test_schema_upgrade_keeps_images(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), base_revision(engine))
    # The boolean and binary values are bound parameters, because SQLite and PostgreSQL spell
    # their literals differently.
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO images VALUES ('img-kept', 'cn-north-1', 'public', 'admin', 'n', 'n',"
                " 'ubuntu', 'x86_64', 'ready', :offline, 'cloudDisk', 'all', 'bios', '', '', 0,"
                " '{}', :coc_vm_json, :vm_json)"
            ),
            {"offline": False, "coc_vm_json": b"{}", "vm_json": b"{}"},
        )

    upgrade_schema(engine)

    with engine.connect() as connection:
        image_ids = connection.execute(text("SELECT image_id FROM images")).scalars().all()
    assert image_ids == ["img-kept"]


def test_schema_unknown_revision_rejected(engine: Engine) -> None:
    ensure_schema(engine)
    set_revision(engine, "f00dfeed")

    with pytest.raises(SchemaBehindError) as raised:
        ensure_schema(engine)

    assert "revision f00dfeed, which this cocvm does not know" in str(raised.value)


def test_schema_upgrade_rejects_unknown_revision(engine: Engine) -> None:
    ensure_schema(engine)
    set_revision(engine, "f00dfeed")

    with pytest.raises(SchemaBehindError) as raised:
        upgrade_schema(engine)

    assert "which this cocvm does not know" in str(raised.value)
    assert current_revision(engine) == "f00dfeed"


def test_schema_unrelated_tables_rejected(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))

    with pytest.raises(SchemaBehindError) as raised:
        ensure_schema(engine)

    assert "has tables but no cocvm schema revision" in str(raised.value)
    assert set(inspect(engine).get_table_names()) == {"invoices"}


def test_schema_known_revisions(engine: Engine) -> None:
    assert is_known_revision(engine, head_revision(engine))
    assert is_known_revision(engine, base_revision(engine))
    assert not is_known_revision(engine, "f00dfeed")


def test_schema_sqlite_connection_settings(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        journal_mode = connection.execute(text("PRAGMA journal_mode")).scalar_one()
        foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar_one()

    assert journal_mode == "wal"
    assert foreign_keys == 1


def test_schema_postgres_engine_settings() -> None:
    # Creating the engine opens no connection, so no server has to listen on this port.
    engine = create_catalog_engine("postgresql://cocvm@127.0.0.1:1/cocvm")

    assert engine.dialect.driver == "psycopg"
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.size() == PoolSettings().size
    assert engine.pool.timeout() == PoolSettings().timeout_seconds


def test_schema_deleting_image_deletes_its_shares(engine: Engine) -> None:
    ensure_schema(engine)
    rows, shares = to_rows(parse_catalog(shared_record("img-gone")))
    upsert_images(engine, rows, shares)

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM images"))

    with engine.connect() as connection:
        share_count = connection.execute(text("SELECT count(*) FROM image_shares")).scalar_one()
    assert share_count == 0


@pytest.mark.parametrize(
    ("database_url", "driver"),
    [
        ("sqlite:///catalog.db", "sqlite"),
        ("postgresql://user:secret@db.internal/cocvm", "postgresql+psycopg"),
        ("postgres://user:secret@db.internal/cocvm", "postgresql+psycopg"),
        ("postgresql+psycopg://user@db.internal/cocvm", "postgresql+psycopg"),
    ],
)
def test_normalize_url_driver(database_url: str, driver: str) -> None:
    assert normalize_url(database_url).drivername == driver


@pytest.mark.parametrize(
    ("database_url", "reason"),
    [
        ("catalog.db", "Invalid database URL 'catalog.db'"),
        ("", "Invalid database URL ''"),
        ("mysql://user@host/db", "Unsupported database 'mysql'"),
        ("oracle://user@host/db", "Unsupported database 'oracle'"),
    ],
)
def test_normalize_url_rejects(database_url: str, reason: str) -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        normalize_url(database_url)

    assert reason in str(raised.value)
    assert "sqlite:///FILE" in str(raised.value)


def insert_into_missing_table(engine: Engine, value: str) -> DBAPIError:
    """Return the error of an INSERT, with `value` as its parameter, into a table that is absent."""
    with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
        connection.execute(text("INSERT INTO no_such_table VALUES (:value)"), {"value": value})
    return raised.value


# What each driver reports for a table that does not exist, without the statement.
MISSING_TABLE_MESSAGES = {
    "sqlite": "OperationalError: no such table: no_such_table",
    "postgresql": 'UndefinedTable: relation "no_such_table" does not exist',
}

# What each driver reports for a NULL name, without the row that contains it.
NAME_NOT_NULL_MESSAGES = {
    "sqlite": "IntegrityError: NOT NULL constraint failed: images.name",
    "postgresql": 'NotNullViolation: null value in column "name" of relation "images" violates '
    "not-null constraint",
}


def test_describe_database_error_omits_statement(engine: Engine) -> None:
    error = insert_into_missing_table(engine, "catalog-row-parameter")

    message = describe_database_error(error)

    assert message == MISSING_TABLE_MESSAGES[engine.dialect.name]


def test_describe_database_error_omits_parameters(engine: Engine) -> None:
    secret = "catalog-row-parameter"
    error = insert_into_missing_table(engine, secret)

    message = describe_database_error(error)

    assert message.startswith(MISSING_TABLE_MESSAGES[engine.dialect.name])
    assert secret not in message


def test_describe_database_error_omits_failing_row(engine: Engine) -> None:
    ensure_schema(engine)
    rows, shares = to_rows(parse_catalog(shared_record("img-secret")))
    # The name column is NOT NULL, so the database rejects this row.
    rows[0]["name"] = None

    with pytest.raises(DBAPIError) as raised:
        upsert_images(engine, rows, shares)
    message = describe_database_error(raised.value)

    assert message == NAME_NOT_NULL_MESSAGES[engine.dialect.name]


def test_describe_database_error_url() -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        create_catalog_engine("nonsense")

    assert describe_database_error(raised.value).startswith("Invalid database URL 'nonsense'")
