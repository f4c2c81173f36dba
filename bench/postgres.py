"""A throw-away PostgreSQL server for the benchmark's PostgreSQL run.

The server is the test suite's PostgresServer: a real PostgreSQL on a free loopback port, its data
in a temporary directory (on /dev/shm when that has 2 GB free) with fsync off, deleted when the
server is cleaned up. `scripts/services.sh install` installs PostgreSQL's server programs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Set
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.servers import BenchError

# tests/services.py defines PostgresServer, which the test suite starts its throw-away servers
# with. The benchmark uses the same class instead of a copy. tests/ is not a package, so its folder
# goes on sys.path and the module imports as `services`.
_TESTS_DIRECTORY = Path(__file__).resolve().parent.parent / "tests"
if str(_TESTS_DIRECTORY) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIRECTORY))

from services import PostgresServer, ServiceUnavailableError  # noqa: E402

__all__ = [
    "PostgresServer",
    "create_database",
    "postgres_version",
    "running_postgres",
    "vacuum_analyze",
]


@contextmanager
def running_postgres(cpus: Set[int]) -> Iterator[PostgresServer]:
    """Run a new PostgreSQL server, its processes pinned to `cpus`, until the block ends.

    When the block ends, also through an error or Ctrl-C, the server is stopped and its data
    directory deleted. PostgresServer registers an atexit handler that retries a cleanup that
    was itself interrupted. A benchmark killed with SIGKILL leaves the server running.
    Raises BenchError when PostgreSQL is not installed or does not start.
    """
    try:
        server = PostgresServer()
    except ServiceUnavailableError as error:
        raise BenchError(str(error)) from None
    try:
        try:
            with _cpu_affinity(cpus):
                server.start()
        except RuntimeError as error:
            raise BenchError(f"PostgreSQL did not start: {error}") from None
        yield server
    finally:
        server.cleanup()


def create_database(server: PostgresServer, name: str) -> str:
    """Create the empty database `name` on the server and return its URL.

    Raises BenchError when PostgreSQL rejects the statement.
    """
    try:
        return server.create_database(name)
    except psycopg.Error as error:
        raise BenchError(f"creating the PostgreSQL database {name} failed: {error}") from None


def vacuum_analyze(database_url: str) -> None:
    """Run VACUUM (ANALYZE) on every table of the database.

    After a bulk import, autovacuum would start on the new tables within a minute, on the CPU the
    benchmark gives the server, and in the middle of a measured run. Running it now leaves it
    nothing to do, and gives the planner the statistics that a database in service has.
    Raises BenchError when the statement fails.
    """
    try:
        # VACUUM cannot run inside a transaction block, hence autocommit.
        with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as connection:
            connection.execute("VACUUM (ANALYZE)")
    except psycopg.Error as error:
        raise BenchError(f"VACUUM (ANALYZE) on {database_url} failed: {error}") from None


def postgres_version(server: PostgresServer) -> str:
    """Return the version `postgres --version` prints, such as `15.18 (Debian 15.18-0+deb12u1)`."""
    completed = subprocess.run(
        [str(server.bin_dir / "postgres"), "--version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip().removeprefix("postgres (PostgreSQL) ")


@contextmanager
def _cpu_affinity(cpus: Set[int]) -> Iterator[None]:
    """Pin this process to `cpus` inside the block, so that the processes it starts inherit it.

    pg_ctl starts the postmaster, which forks every backend and helper process, so all of them
    run on `cpus`.
    """
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)
