import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text, update

from cocvm.store.database import create_catalog_engine, ensure_schema
from cocvm.store.keys import (
    AccessKeyNotFoundError,
    create_access_key,
    delete_access_key,
    list_access_keys,
    set_access_key_enabled,
)
from cocvm.store.schema import access_keys
from cocvm.store.secret_box import SecretBox, ServerKeyError
from services import PostgresServer

KEY_TEXT = re.compile(r"[0-9A-F]{32}")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A catalog engine on a new SQLite file, then on a new PostgreSQL database."""
    engine = create_catalog_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


def test_create_access_key_shape(engine: Engine, box: SecretBox) -> None:
    new_key = create_access_key(engine, box, "alice")

    assert KEY_TEXT.fullmatch(new_key.access_key)
    assert KEY_TEXT.fullmatch(new_key.secret_key)
    assert new_key.access_key != new_key.secret_key
    assert new_key.pin == "alice"


def test_create_access_key_stored_enabled(engine: Engine, box: SecretBox) -> None:
    new_key = create_access_key(engine, box, "alice")

    (stored,) = list_access_keys(engine)

    assert stored.access_key == new_key.access_key
    assert stored.pin == "alice"
    assert stored.enabled is True
    assert stored.created_at > 0


def test_create_access_key_secret_encrypted(engine: Engine, box: SecretBox) -> None:
    new_key = create_access_key(engine, box, "alice")

    (stored,) = list_access_keys(engine)

    assert new_key.secret_key.encode() not in stored.secret_ciphertext
    assert box.decrypt(stored.secret_ciphertext) == new_key.secret_key


def test_create_access_key_secret_absent_from_sqlite_files(tmp_path: Path, box: SecretBox) -> None:
    database_path = tmp_path / "keys.db"
    engine = create_catalog_engine(f"sqlite:///{database_path}")
    ensure_schema(engine)
    new_key = create_access_key(engine, box, "alice")
    engine.dispose()

    stored_bytes = b"".join(
        path.read_bytes() for path in database_path.parent.glob(f"{database_path.name}*")
    )

    assert new_key.access_key.encode() in stored_bytes
    assert new_key.secret_key.encode() not in stored_bytes
    assert new_key.secret_key.lower().encode() not in stored_bytes


def test_create_access_key_secret_absent_from_postgres_files(
    postgres: PostgresServer, postgres_url: str, box: SecretBox
) -> None:
    engine = create_catalog_engine(postgres_url)
    try:
        ensure_schema(engine)
        with engine.connect() as connection:
            wal_start = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
        new_key = create_access_key(engine, box, "alice")
        with engine.connect() as connection:
            # CHECKPOINT flushes the WAL and writes every changed page to the data files.
            connection.execute(text("CHECKPOINT"))
            wal_files = connection.execute(
                text(
                    "SELECT DISTINCT pg_walfile_name(lsn) FROM (VALUES "
                    "(CAST(:start AS pg_lsn)), (pg_current_wal_lsn())) AS positions (lsn)"
                ),
                {"start": wal_start},
            ).scalars()
            wal_paths = [postgres.data_dir / "pg_wal" / name for name in wal_files]
            database_oid = connection.execute(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
    finally:
        engine.dispose()

    # The database's own folder and the WAL written since the schema was created.
    database_paths = (postgres.data_dir / "base" / str(database_oid)).iterdir()
    stored_bytes = b"".join(
        path.read_bytes() for path in [*database_paths, *wal_paths] if path.is_file()
    )

    assert new_key.access_key.encode() in stored_bytes
    assert new_key.secret_key.encode() not in stored_bytes
    assert new_key.secret_key.lower().encode() not in stored_bytes


def test_create_access_key_unique(engine: Engine, box: SecretBox) -> None:
    keys = [create_access_key(engine, box, "alice") for _ in range(20)]

    assert len({key.access_key for key in keys}) == 20
    assert len({key.secret_key for key in keys}) == 20


def test_create_access_key_other_server_key(engine: Engine, box: SecretBox) -> None:
    create_access_key(engine, box, "alice")

    with pytest.raises(ServerKeyError, match="cannot decrypt the access key secrets"):
        create_access_key(engine, SecretBox(Fernet.generate_key()), "bob")

    assert [key.pin for key in list_access_keys(engine)] == ["alice"]


def test_create_access_key_one_damaged_key(engine: Engine, box: SecretBox) -> None:
    create_access_key(engine, box, "alice")
    damaged = create_access_key(engine, box, "bob")
    with engine.begin() as connection:
        connection.execute(
            update(access_keys)
            .where(access_keys.c.access_key == damaged.access_key)
            .values(secret_ciphertext=SecretBox(Fernet.generate_key()).encrypt("x"))
        )

    created = create_access_key(engine, box, "carol")

    assert created.pin == "carol"


def test_list_access_keys_empty(engine: Engine) -> None:
    assert list_access_keys(engine) == []


def test_list_access_keys_by_pin(engine: Engine, box: SecretBox) -> None:
    alice_one = create_access_key(engine, box, "alice")
    create_access_key(engine, box, "bob")
    alice_two = create_access_key(engine, box, "alice")

    listed = list_access_keys(engine, "alice")

    assert {key.access_key for key in listed} == {alice_one.access_key, alice_two.access_key}
    assert list_access_keys(engine, "carol") == []


def test_list_access_keys_oldest_first(engine: Engine, box: SecretBox) -> None:
    for pin in ("alice", "bob", "carol"):
        create_access_key(engine, box, pin)

    listed = list_access_keys(engine)

    assert [(key.created_at, key.access_key) for key in listed] == sorted(
        (key.created_at, key.access_key) for key in listed
    )


def test_set_access_key_enabled_toggles(engine: Engine, box: SecretBox) -> None:
    new_key = create_access_key(engine, box, "alice")

    set_access_key_enabled(engine, new_key.access_key, False)
    assert list_access_keys(engine)[0].enabled is False

    set_access_key_enabled(engine, new_key.access_key, True)
    assert list_access_keys(engine)[0].enabled is True


def test_set_access_key_enabled_only_that_key(engine: Engine, box: SecretBox) -> None:
    alice = create_access_key(engine, box, "alice")
    create_access_key(engine, box, "bob")

    set_access_key_enabled(engine, alice.access_key, False)

    enabled = {key.pin: key.enabled for key in list_access_keys(engine)}
    assert enabled == {"alice": False, "bob": True}


@pytest.mark.parametrize("enabled", [True, False])
def test_set_access_key_enabled_unknown(engine: Engine, enabled: bool) -> None:
    with pytest.raises(AccessKeyNotFoundError):
        set_access_key_enabled(engine, "NO-SUCH-KEY", enabled)


def test_delete_access_key_removes_row(engine: Engine, box: SecretBox) -> None:
    alice = create_access_key(engine, box, "alice")
    bob = create_access_key(engine, box, "bob")

    delete_access_key(engine, alice.access_key)

    assert [key.access_key for key in list_access_keys(engine)] == [bob.access_key]


def test_delete_access_key_unknown(engine: Engine) -> None:
    with pytest.raises(AccessKeyNotFoundError):
        delete_access_key(engine, "NO-SUCH-KEY")


def test_delete_access_key_twice(engine: Engine, box: SecretBox) -> None:
    alice = create_access_key(engine, box, "alice")
    delete_access_key(engine, alice.access_key)

    with pytest.raises(AccessKeyNotFoundError):
        delete_access_key(engine, alice.access_key)
