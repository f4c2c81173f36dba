"""Checks of the PostgreSQL and Redis fixtures in tests/services.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import sqlalchemy

from services import PostgresServer, RedisServer, fresh_database, send_redis_command

TESTS_DIR = Path(__file__).resolve().parent


def list_user_tables(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return [row[0] for row in rows]


def raw_redis_ping(port: int) -> bytes:
    """Send an inline PING over a plain socket and return the reply line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"PING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = connection.recv(64)
            if not chunk:
                break
            reply += chunk
    return reply


def test_postgres_url_reachable(postgres_url: str) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute("SELECT current_database(), current_user").fetchone()
    assert row == (name, "cocvm")


def test_postgres_url_empty(postgres_url: str) -> None:
    assert list_user_tables(postgres_url) == []


def test_postgres_url_points_at_server(postgres: PostgresServer, postgres_url: str) -> None:
    assert postgres_url.startswith(f"postgresql://cocvm@127.0.0.1:{postgres.port}/")


@pytest.mark.parametrize("run", ["first", "second"])
def test_postgres_url_new_per_test(postgres_url: str, run: str) -> None:
    # Each run leaves a table behind, which the other run would find in a shared database.
    assert list_user_tables(postgres_url) == []
    with psycopg.connect(postgres_url) as connection:
        connection.execute("CREATE TABLE left_behind (id integer)")


def test_fresh_database_distinct(postgres: PostgresServer, postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        connection.execute("CREATE TABLE marker (id integer)")

    with fresh_database(postgres) as other_url:
        assert other_url != postgres_url
        assert list_user_tables(other_url) == []
    assert list_user_tables(postgres_url) == ["public.marker"]


def test_fresh_database_dropped(postgres: PostgresServer) -> None:
    with fresh_database(postgres) as url:
        name = url.rsplit("/", 1)[1]

    with psycopg.connect(postgres.url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    assert row == (0,)


def test_postgres_create_database_invalid_name(postgres: PostgresServer) -> None:
    with pytest.raises(ValueError, match="invalid database name 'Bad-Name'"):
        postgres.create_database("Bad-Name")


def test_postgres_settings(postgres: PostgresServer) -> None:
    expected = {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
        "listen_addresses": "127.0.0.1",
        "server_encoding": "UTF8",
    }
    with psycopg.connect(postgres.url) as connection:
        for name, value in expected.items():
            row = connection.execute(
                "SELECT setting FROM pg_settings WHERE name = %s", (name,)
            ).fetchone()
            assert row == (value,), name


def test_postgres_restart_keeps_data(postgres: PostgresServer, postgres_url: str) -> None:
    port = postgres.port
    with psycopg.connect(postgres_url) as connection:
        connection.execute("CREATE TABLE kept (id integer)")

    postgres.restart()

    assert postgres.port == port
    assert postgres.is_running()
    assert list_user_tables(postgres_url) == ["public.kept"]


def test_postgres_stop_ends_server(postgres: PostgresServer) -> None:
    postgres.stop()
    try:
        assert not postgres.is_running()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres.url, connect_timeout=5).close()
    finally:
        postgres.start()
    assert postgres.is_running()


def test_redis_ping_raw_socket(redis: RedisServer) -> None:
    assert redis.port is not None
    assert raw_redis_ping(redis.port) == b"+PONG\r\n"


def test_redis_url_points_at_server(redis: RedisServer, redis_url: str) -> None:
    assert redis_url == f"redis://127.0.0.1:{redis.port}/0"


def test_redis_url_flushes_database(redis: RedisServer, request: pytest.FixtureRequest) -> None:
    assert redis.port is not None
    assert send_redis_command(redis.port, "SET", "left-over", "1") == b"+OK"
    assert send_redis_command(redis.port, "DBSIZE") == b":1"

    request.getfixturevalue("redis_url")

    assert send_redis_command(redis.port, "DBSIZE") == b":0"


def test_redis_restart_keeps_port(redis: RedisServer) -> None:
    port = redis.port

    redis.restart()

    assert redis.port == port
    assert port is not None
    assert raw_redis_ping(port) == b"+PONG\r\n"


def test_database_url_connects(database_url: str, request: pytest.FixtureRequest) -> None:
    store = request.node.callspec.params["database_url"]
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("CREATE TABLE probe (id integer)"))
            connection.execute(sqlalchemy.text("INSERT INTO probe VALUES (7)"))
            value = connection.execute(sqlalchemy.text("SELECT id FROM probe")).scalar_one()
    finally:
        engine.dispose()
    assert engine.dialect.name == store
    assert value == 7


def test_database_url_location(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = request.node.callspec.params["database_url"]
    locations = {
        "sqlite": f"sqlite:///{tmp_path / 'catalog.db'}",
        "postgresql": "postgresql://cocvm@127.0.0.1:",
    }
    assert database_url.startswith(locations[store])


def collect_database_url_ids(tmp_path: Path) -> list[str]:
    """Collect a test that takes `database_url` in a separate pytest and return its node ids."""
    (tmp_path / "test_stores.py").write_text(
        "def test_store(database_url):\n    pass\n", encoding="utf-8"
    )
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--collect-only", "-q",
            "-p", "services", "-p", "no:cacheprovider",
            "-o", "markers=postgres: PostgreSQL tests",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_database_url_params_cover_both_stores(tmp_path: Path) -> None:
    assert collect_database_url_ids(tmp_path) == [
        "test_stores.py::test_store[sqlite]",
        "test_stores.py::test_store[postgresql]",
    ]


def test_database_url_postgres_mark(database_url: str, request: pytest.FixtureRequest) -> None:
    store = request.node.callspec.params["database_url"]
    marked = request.node.get_closest_marker("postgres") is not None
    assert marked == (store == "postgresql")
