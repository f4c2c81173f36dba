"""A server over PostgreSQL when the database goes away, hangs, or has an older schema."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from prometheus_client.parser import text_string_to_metric_families

from cocvm.store.database import (
    create_catalog_engine,
    current_revision,
    ensure_schema,
    head_revision,
)
from conftest import (
    UNLIMITED,
    Response,
    RunningServer,
    free_port,
    http_request,
    run_cocvm,
    start_server,
)
from services import PostgresServer

pytestmark = pytest.mark.postgres

PUBLIC = "/v1/regions/cn-north-1/images?imageSource=public&pageSize=10"
POOL_TIMEOUT_SECONDS = 1
STATEMENT_TIMEOUT_SECONDS = 2
UNKNOWN_ERROR = {"code": 500, "status": "UNKNOWN", "message": "Unknown server error"}


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this module's own, so stopping it ends no other test's sessions."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def module_server(
    own_postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """The server behind `catalog_server`, started once for the module."""
    server = start_server(
        tmp_path_factory.mktemp("postgres-faults"),
        "--pool-timeout",
        str(POOL_TIMEOUT_SECONDS),
        "--statement-timeout",
        str(STATEMENT_TIMEOUT_SECONDS),
        *UNLIMITED,
        database_url=own_postgres.create_database("catalog"),
    )
    yield server
    server.stop()


@pytest.fixture
def catalog_server(
    own_postgres: PostgresServer, module_server: RunningServer
) -> Iterator[RunningServer]:
    """A server over a catalog in `own_postgres`, with short pool and statement timeouts.

    PostgreSQL is running when the test starts, and is started again if the test left it stopped.
    """
    yield module_server
    if not own_postgres.is_running():
        own_postgres.start()


def timed(request: Callable[[], Response]) -> tuple[Response, float]:
    """Send a request and return its reply and the seconds it took."""
    started = time.monotonic()
    reply = request()
    return reply, time.monotonic() - started


def get_unsigned(server: RunningServer, path: str) -> Response:
    return http_request(server.host, server.port, "GET", path, {})


def poll(request: Callable[[], Response], expected_status: int, timeout: float) -> Response:
    """Repeat `request` until it returns `expected_status` or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        reply = request()
        if reply.status == expected_status or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def store_errors(server: RunningServer) -> float:
    """Return the server's cocvm_store_errors_total counter."""
    text = get_unsigned(server, "/metrics").body.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cocvm_store_errors_total":
                return float(sample.value)
    raise AssertionError("cocvm_store_errors_total is missing from /metrics")


def test_postgres_outage_returns_unknown_quickly(
    own_postgres: PostgresServer, catalog_server: RunningServer
) -> None:
    assert catalog_server.get(PUBLIC).status == 200
    errors_before = store_errors(catalog_server)

    own_postgres.stop()
    reply, seconds = timed(lambda: catalog_server.get(PUBLIC))
    readiness = get_unsigned(catalog_server, "/readyz")

    assert reply.status == 500
    assert reply.json()["error"] == UNKNOWN_ERROR
    assert seconds < POOL_TIMEOUT_SECONDS + 1
    assert readiness.status == 503
    assert readiness.json() == {"status": "unavailable", "store": "unreachable"}
    assert store_errors(catalog_server) - errors_before == 1


def test_postgres_outage_recovers_by_itself(
    own_postgres: PostgresServer, catalog_server: RunningServer
) -> None:
    before = catalog_server.get(PUBLIC)
    own_postgres.stop()
    during = catalog_server.get(PUBLIC)

    own_postgres.start()
    after = poll(lambda: catalog_server.get(PUBLIC), 200, timeout=10)
    readiness = get_unsigned(catalog_server, "/readyz")

    assert before.status == 200
    assert during.status == 500
    assert after.status == 200
    assert after.json()["result"] == before.json()["result"]
    assert readiness.status == 200
    assert readiness.json() == {"status": "ok", "store": "ok"}


def test_postgres_slow_query_times_out(
    own_postgres: PostgresServer, catalog_server: RunningServer
) -> None:
    assert catalog_server.get(PUBLIC).status == 200
    assert own_postgres.port is not None

    # An exclusive lock held open makes every describeImages query wait.
    with psycopg.connect(
        host="127.0.0.1", port=own_postgres.port, user="cocvm", dbname="catalog"
    ) as locker:
        locker.execute("LOCK TABLE images IN ACCESS EXCLUSIVE MODE")
        reply, seconds = timed(lambda: catalog_server.get(PUBLIC))
        locker.rollback()
    after = catalog_server.get(PUBLIC)

    assert reply.status == 500
    assert reply.json()["error"] == UNKNOWN_ERROR
    assert STATEMENT_TIMEOUT_SECONDS - 0.1 < seconds < STATEMENT_TIMEOUT_SECONDS + 1
    assert after.status == 200


def downgrade_to_first_revision(database_url: str) -> None:
    """Bring a current schema back to cocvm's first migration, as an older cocvm left it."""
    engine = create_catalog_engine(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", "cocvm.store:migrations")
        config.attributes["engine"] = engine
        command.downgrade(config, "0001")
    finally:
        engine.dispose()


def revision_of(database_url: str) -> tuple[str | None, str]:
    """Return the database's schema revision and the newest one cocvm ships."""
    engine = create_catalog_engine(database_url)
    try:
        return current_revision(engine), head_revision(engine)
    finally:
        engine.dispose()


def test_postgres_schema_behind_rejected(postgres_url: str, tmp_path: Path) -> None:
    engine = create_catalog_engine(postgres_url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    downgrade_to_first_revision(postgres_url)

    serve = run_cocvm(
        "serve",
        "--port",
        str(free_port()),
        "--database",
        postgres_url,
        env={"COCVM_SERVER_KEY_FILE": str(tmp_path / "server.key")},
    )
    upgraded = run_cocvm("db", "upgrade", "--database", postgres_url)
    current, newest = revision_of(postgres_url)
    server = start_server(tmp_path, *UNLIMITED, database_url=postgres_url)
    try:
        reply = server.get(PUBLIC)
    finally:
        server.stop()

    stderr = serve.stderr.decode()
    assert serve.returncode == 1
    assert "The database schema is at revision 0001" in stderr
    assert "Run `cocvm db upgrade --database URL` to migrate it." in stderr
    assert "Traceback" not in stderr
    assert upgraded.returncode == 0, upgraded.stderr.decode()
    assert current == newest
    assert reply.status == 200
