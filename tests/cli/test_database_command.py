"""`cocvm db upgrade`, and how every command treats a database whose schema is not current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import text

from cocvm.cli import i18n
from cocvm.cli.main import cli
from cocvm.store.database import create_catalog_engine, current_revision, head_revision
from conftest import free_port, run_cocvm
from services import PostgresServer

RECORD = {
    "regionId": "cn-north-1",
    "imageId": "img-db1",
    "name": "Ubuntu",
    "platform": "Ubuntu",
    "architecture": "x86_64",
    "osType": "linux",
    "imageSource": "public",
    "ownerPin": "admin",
    "createTime": "2024-03-01 08:00:00",
}


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CHINESE", False)


def invoke(*arguments: str) -> Result:
    return CliRunner().invoke(cli, list(arguments))


def revision_of(database_url: str) -> str | None:
    engine = create_catalog_engine(database_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def newest_revision(database_url: str) -> str:
    engine = create_catalog_engine(database_url)
    try:
        return head_revision(engine)
    finally:
        engine.dispose()


def migrate_to_oldest_revision(database_url: str) -> str:
    """Create the schema of cocvm's first migration only, as an older cocvm left it."""
    engine = create_catalog_engine(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", "cocvm.store:migrations")
        config.attributes["engine"] = engine
        base = ScriptDirectory.from_config(config).get_base()
        assert isinstance(base, str)
        assert base != head_revision(engine), "the test needs a revision older than the newest"
        command.upgrade(config, base)
        return base
    finally:
        engine.dispose()


def run_sql(database_url: str, statement: str) -> None:
    engine = create_catalog_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def run_serve(database_url: str, tmp_path: Path) -> tuple[int, str]:
    """Run `cocvm serve`, which should stop before it listens, and return its code and output."""
    result = run_cocvm(
        "serve",
        "--port",
        str(free_port()),
        "--database",
        database_url,
        env={"COCVM_SERVER_KEY_FILE": str(tmp_path / "server.key")},
    )
    return result.returncode, (result.stdout + result.stderr).decode()


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    path = tmp_path / "record.jsonl"
    path.write_text(json.dumps(RECORD) + "\n")
    return path


def test_db_upgrade_fresh_database(database_url: str) -> None:
    result = run_cocvm("db", "upgrade", "--database", database_url)

    head = newest_revision(database_url)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == f"Database schema is at revision {head}.\n"
    assert revision_of(database_url) == head


def test_db_upgrade_twice(database_url: str) -> None:
    assert invoke("db", "upgrade", "--database", database_url).exit_code == 0

    result = invoke("db", "upgrade", "--database", database_url)

    assert result.exit_code == 0, result.output
    assert revision_of(database_url) == newest_revision(database_url)


def test_db_upgrade_uses_database_environment_variable(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COCVM_DATABASE", database_url)

    result = invoke("db", "upgrade")

    assert result.exit_code == 0, result.output
    assert revision_of(database_url) == newest_revision(database_url)


def test_import_fresh_database_creates_schema(database_url: str, record_file: Path) -> None:
    result = invoke("images", "import", str(record_file), "--database", database_url)

    assert result.exit_code == 0, result.output
    assert revision_of(database_url) == newest_revision(database_url)


def test_older_revision_import_rejected(database_url: str, record_file: Path) -> None:
    oldest = migrate_to_oldest_revision(database_url)

    result = run_cocvm("images", "import", str(record_file), "--database", database_url)

    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert f"The database schema is at revision {oldest}" in stderr
    assert "Run `cocvm db upgrade --database URL`" in stderr
    assert "Traceback" not in stderr
    assert revision_of(database_url) == oldest


def test_older_revision_export_rejected(database_url: str) -> None:
    migrate_to_oldest_revision(database_url)

    result = invoke("images", "export", "--database", database_url)

    assert result.exit_code == 1
    assert "cocvm db upgrade" in result.stderr


def test_older_revision_serve_rejected(database_url: str, tmp_path: Path) -> None:
    oldest = migrate_to_oldest_revision(database_url)

    code, output = run_serve(database_url, tmp_path)

    assert code != 0
    assert "cocvm db upgrade" in output
    assert "Traceback" not in output
    assert revision_of(database_url) == oldest


def test_older_revision_upgraded(database_url: str, record_file: Path) -> None:
    migrate_to_oldest_revision(database_url)

    upgraded = invoke("db", "upgrade", "--database", database_url)
    imported = invoke("images", "import", str(record_file), "--database", database_url)

    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout == f"Database schema is at revision {newest_revision(database_url)}.\n"
    assert imported.exit_code == 0, imported.output


def test_unknown_revision_upgrade_rejected(database_url: str) -> None:
    assert invoke("db", "upgrade", "--database", database_url).exit_code == 0
    run_sql(database_url, "UPDATE alembic_version SET version_num = 'f00dfeed'")

    result = run_cocvm("db", "upgrade", "--database", database_url)

    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.startswith("Error: Cannot upgrade the database schema: ")
    assert "revision f00dfeed, which this cocvm does not know" in stderr
    assert "Traceback" not in stderr


def test_unknown_revision_import_rejected(database_url: str, record_file: Path) -> None:
    assert invoke("db", "upgrade", "--database", database_url).exit_code == 0
    run_sql(database_url, "UPDATE alembic_version SET version_num = 'f00dfeed'")

    result = invoke("images", "import", str(record_file), "--database", database_url)

    assert result.exit_code == 1
    assert "revision f00dfeed, which this cocvm does not know" in result.stderr


def test_unrelated_tables_import_rejected(database_url: str, record_file: Path) -> None:
    run_sql(database_url, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")

    result = run_cocvm("images", "import", str(record_file), "--database", database_url)

    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "The database has tables but no cocvm schema revision" in stderr
    assert revision_of(database_url) is None


def test_unrelated_tables_serve_rejected(database_url: str, tmp_path: Path) -> None:
    run_sql(database_url, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")

    code, output = run_serve(database_url, tmp_path)

    assert code != 0
    assert "The database has tables but no cocvm schema revision" in output
    assert revision_of(database_url) is None


# What each driver reports when the first migration meets a table named images.
TABLE_EXISTS_MESSAGES = {
    "sqlite": "OperationalError: table images already exists",
    "postgresql": 'DuplicateTable: relation "images" already exists',
}


def test_db_upgrade_conflicting_table(database_url: str) -> None:
    run_sql(database_url, "CREATE TABLE images (id INTEGER PRIMARY KEY)")
    store = database_url.split(":", 1)[0]

    result = invoke("db", "upgrade", "--database", database_url)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(
        f"Error: Cannot upgrade the database schema: {TABLE_EXISTS_MESSAGES[store]}"
    )
    assert "CREATE TABLE" not in result.stderr


@pytest.mark.parametrize(
    ("database_url", "reason"),
    [
        ("catalog.db", "Invalid database URL 'catalog.db'"),
        ("mysql://user@localhost/cocvm", "Unsupported database 'mysql'"),
    ],
)
def test_db_upgrade_bad_database_url(database_url: str, reason: str) -> None:
    result = invoke("db", "upgrade", "--database", database_url)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"Error: Cannot upgrade the database schema: {reason}")


def test_db_upgrade_unreachable_folder(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'missing' / 'catalog.db'}"

    result = invoke("db", "upgrade", "--database", database_url)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Cannot upgrade the database schema: "
        "OperationalError: unable to open database file\n"
    )


def test_db_upgrade_missing_postgres_database(postgres: PostgresServer) -> None:
    database_url = postgres.database_url("no_such_database")

    result = invoke("db", "upgrade", "--database", database_url)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Cannot upgrade the database schema: OperationalError: connection failed: "
        f'connection to server at "127.0.0.1", port {postgres.port} failed: '
        'FATAL:  database "no_such_database" does not exist\n'
    )


def test_db_upgrade_unreachable_postgres_server() -> None:
    port = free_port()

    result = invoke("db", "upgrade", "--database", f"postgresql://cocvm@127.0.0.1:{port}/cocvm")

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: Cannot upgrade the database schema: OperationalError: connection failed: "
        f'connection to server at "127.0.0.1", port {port} failed: Connection refused'
    )
