"""Throw-away PostgreSQL and Redis servers for the tests, and the pytest fixtures that share them.

Each server is a real one, listening on a free port on 127.0.0.1 with its data in a temporary
directory. It starts on first use, once per session, and is stopped and deleted when the session
ends. A fixture finalizer does that, and an atexit handler covers runs that never reach the
finalizers. `scripts/services.sh install` installs the server programs. Without them the fixtures
fail rather than skip, so a run cannot pass with a store left untested.

Fixtures:
    postgres      session: the PostgresServer
    postgres_url  function: SQLAlchemy URL of a new, empty PostgreSQL database, dropped afterwards
    redis         session: the RedisServer
    redis_url     function: URL of Redis database 0, emptied with FLUSHDB before the test
    database_url  function, parametrised: a new SQLite file (id `sqlite`) and a new PostgreSQL
                  database (id `postgresql`, marked `postgres`), so a test that takes it runs on
                  both stores

tests/conftest.py loads this module with `pytest_plugins = ["services"]`.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from psycopg import sql

logger = logging.getLogger(__name__)

INSTALL_HINT = "Run `scripts/services.sh install` (as root or with sudo) to install it."
POSTGRES_USER = "cocvm"
POSTGRES_MAINTENANCE_DATABASE = "postgres"
# PostgreSQL refuses to run as root, so a root test run starts it as this system user, which
# Debian's postgresql-common package creates.
POSTGRES_SYSTEM_USER = "postgres"
START_TIMEOUT_SECONDS = 60
START_ATTEMPTS = 3
# A RAM-backed tmpfs on Linux. The cluster starts at about 40 MB, and each test database adds
# 2-3 MB until it is dropped. WAL may grow to max_wal_size (1 GB by default) between checkpoints.
SHARED_MEMORY_DIR = "/dev/shm"
SHARED_MEMORY_MIN_FREE_BYTES = 2 * 1024**3
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_database_numbers = itertools.count(1)


class ServiceUnavailableError(RuntimeError):
    """A server program that the tests need is not installed."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def find_postgres_bin_dir() -> Path:
    """Return the directory that contains PostgreSQL's initdb, pg_ctl and postgres.

    A pg_ctl on PATH wins. Otherwise the newest /usr/lib/postgresql/N/bin is used, the layout of
    Debian's packages, which keep these programs off PATH.
    """
    candidates = []
    pg_ctl_on_path = shutil.which("pg_ctl")
    if pg_ctl_on_path is not None:
        candidates.append(Path(pg_ctl_on_path).resolve().parent)
    debian_dirs = Path("/usr/lib/postgresql").glob("*/bin")
    versioned_dirs = [path for path in debian_dirs if path.parent.name.isdigit()]
    candidates += sorted(versioned_dirs, key=lambda path: int(path.parent.name), reverse=True)

    programs = ("initdb", "pg_ctl", "postgres")
    for bin_dir in candidates:
        if all(os.access(bin_dir / program, os.X_OK) for program in programs):
            return bin_dir
    raise ServiceUnavailableError(
        "PostgreSQL's server programs (initdb, pg_ctl, postgres) were not found on PATH or in "
        f"/usr/lib/postgresql/N/bin. {INSTALL_HINT}"
    )


def find_redis_server() -> Path:
    """Return the path of the redis-server program."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
    if found is None:
        raise ServiceUnavailableError(f"redis-server was not found on PATH. {INSTALL_HINT}")
    return Path(found)


def _log_tail(path: Path, offset: int = 0, max_characters: int = 4000) -> str:
    try:
        with path.open("rb") as log_file:
            log_file.seek(offset)
            text = log_file.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return text[-max_characters:]


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class PostgresServer:
    """A PostgreSQL server in its own temporary data directory, listening on 127.0.0.1 only.

    The superuser is `cocvm` with trust authentication over the Unix socket and 127.0.0.1, and
    durability is off (fsync, synchronous_commit, full_page_writes) because the data is thrown
    away. When the tests run as root, initdb, pg_ctl and the server run as the `postgres` system
    user, which owns the data directory. The port stays the same across restarts. Needs
    PostgreSQL 13 or later, the first with DROP DATABASE ... WITH (FORCE).
    """

    def __init__(self) -> None:
        self.bin_dir = find_postgres_bin_dir()
        self.run_as: list[str] = []
        self.system_user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self.system_user = self._find_system_user()
            self.run_as = ["runuser", "-u", POSTGRES_SYSTEM_USER, "--"]
        self.base_dir: Path | None = None
        self.port: int | None = None
        self._owner_pid = os.getpid()

    @staticmethod
    def _find_system_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(POSTGRES_SYSTEM_USER)
        except KeyError:
            raise ServiceUnavailableError(
                "PostgreSQL refuses to run as root, and there is no "
                f"`{POSTGRES_SYSTEM_USER}` system user to run it as. {INSTALL_HINT}"
            ) from None

    @property
    def data_dir(self) -> Path:
        return self._require_base_dir() / "data"

    @property
    def log_path(self) -> Path:
        return self._require_base_dir() / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` maintenance database."""
        return self.database_url(POSTGRES_MAINTENANCE_DATABASE)

    def database_url(self, name: str) -> str:
        """Return the SQLAlchemy URL of database `name` on this server."""
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self._require_port()}/{name}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections.

        The first call creates the cluster with initdb. Raises RuntimeError with the server log
        when the server does not start.
        """
        first_start = self.base_dir is None
        started_at = time.monotonic()
        if first_start:
            self._create_cluster()
            atexit.register(self._cleanup_at_exit)

        # Another process may take the free port between the probe and the server's bind, so the
        # first start tries new ports. A restart keeps its port because URLs handed out name it.
        attempts = START_ATTEMPTS if first_start else 1
        for attempt in range(1, attempts + 1):
            log_offset = _log_size(self.log_path)
            result = self._pg_ctl(
                "start", "--wait", f"--timeout={START_TIMEOUT_SECONDS}", f"--log={self.log_path}"
            )
            if result.returncode == 0:
                break
            log_text = _log_tail(self.log_path, log_offset)
            if attempt == attempts or "Address already in use" not in log_text:
                raise RuntimeError(
                    f"PostgreSQL failed to start on 127.0.0.1:{self.port} "
                    f"(pg_ctl exit status {result.returncode}).\n{result.stdout}\n"
                    f"Server log {self.log_path}:\n{log_text}"
                )
            logger.warning("port %s is taken, starting PostgreSQL on another port", self.port)
            self._write_settings(free_port())

        elapsed = time.monotonic() - started_at
        logger.info("started PostgreSQL on 127.0.0.1:%s in %.2f s", self.port, elapsed)

    def stop(self) -> None:
        """Stop the server in fast mode, which ends open sessions, unless it is stopped already."""
        if not self.is_running():
            return
        result = self._pg_ctl("stop", "--wait", "--mode=fast", f"--timeout={START_TIMEOUT_SECONDS}")
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl stop failed with exit status {result.returncode}:\n{result.stdout}\n"
                f"Server log {self.log_path}:\n{_log_tail(self.log_path)}"
            )
        logger.info("stopped PostgreSQL on 127.0.0.1:%s", self.port)

    def restart(self) -> None:
        """Stop and start the server on the same port, which ends every open session."""
        self.stop()
        self.start()

    def is_running(self) -> bool:
        if self.base_dir is None or not self.data_dir.exists():
            return False
        return self._pg_ctl("status").returncode == 0

    def create_database(self, name: str) -> str:
        """Create the empty database `name` (lowercase letters, digits, `_`) and return its URL."""
        if not DATABASE_NAME.fullmatch(name):
            raise ValueError(
                f"invalid database name {name!r}: use 1 to 63 lowercase letters, digits "
                "and underscores, not starting with a digit"
            )
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        with self._connect_maintenance() as connection:
            connection.execute(statement)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, ending any sessions still connected to it."""
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        with self._connect_maintenance() as connection:
            connection.execute(statement)

    def cleanup(self) -> None:
        """Stop the server and delete its data directory. The server cannot start again.

        When stopping fails or is interrupted, the directory and the atexit handler stay, so the
        handler tries again when the interpreter exits.
        """
        if self.base_dir is not None:
            self.stop()
            shutil.rmtree(self.base_dir, ignore_errors=True)
        atexit.unregister(self._cleanup_at_exit)

    def _cleanup_at_exit(self) -> None:
        # A child created by os.fork inherits atexit handlers, so only the process that started
        # the server stops it.
        if os.getpid() == self._owner_pid:
            self.cleanup()

    def _require_base_dir(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("the PostgreSQL server has not been started")
        return self.base_dir

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("the PostgreSQL server has not been started")
        return self.port

    def _create_cluster(self) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="cocvm-postgres-", dir=self._parent_dir()))
        if self.system_user is not None:
            os.chown(self.base_dir, self.system_user.pw_uid, self.system_user.pw_gid)

        result = self._run(
            self.bin_dir / "initdb",
            f"--pgdata={self.data_dir}",
            f"--username={POSTGRES_USER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            # The cluster is thrown away, so flushing its files to disk only costs time.
            "--no-sync",
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed with exit status {result.returncode}:\n{result.stdout}"
            )

        (self.data_dir / "pg_hba.conf").write_text(
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 trust\n"
            "host    all       all   127.0.0.1/32  trust\n",
            encoding="utf-8",
        )
        self._write_settings(free_port())

    def _parent_dir(self) -> str:
        """Return where the cluster's directory goes: /dev/shm when it has room, else /tmp.

        On a disk, the tests wait on page writeback even with fsync off. On a 2-CPU VM with a
        virtio disk, busy with other jobs, tmpfs took CREATE DATABASE from 100-300 ms to 20-50 ms
        and initdb plus the first start from 1.1-1.8 s to 0.6-0.7 s.
        """
        try:
            shm = os.statvfs(SHARED_MEMORY_DIR)
        except OSError:
            shm = None
        if (
            shm is not None
            and os.access(SHARED_MEMORY_DIR, os.W_OK | os.X_OK)
            and shm.f_bavail * shm.f_frsize >= SHARED_MEMORY_MIN_FREE_BYTES
        ):
            return SHARED_MEMORY_DIR
        # The postgres system user must reach the directory, and pytest's own temporary
        # directories are private to the user running pytest.
        return "/tmp" if self.system_user is not None else tempfile.gettempdir()

    def _write_settings(self, port: int) -> None:
        # postgresql.auto.conf is read after postgresql.conf, so these values win. Writing the
        # whole file again replaces the port of an earlier attempt.
        self.port = port
        (self.data_dir / "postgresql.auto.conf").write_text(
            f"listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            f"unix_socket_directories = '{self._require_base_dir()}'\n"
            "max_connections = 200\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n",
            encoding="utf-8",
        )

    def _pg_ctl(self, action: str, *options: str) -> subprocess.CompletedProcess[str]:
        return self._run(self.bin_dir / "pg_ctl", action, f"--pgdata={self.data_dir}", *options)

    def _run(self, program: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
        # The working directory is one the postgres system user may enter, which silences
        # "could not change directory" warnings when the tests run as root from /root.
        return subprocess.run(
            [*self.run_as, str(program), *arguments],
            cwd=self._require_base_dir(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=START_TIMEOUT_SECONDS + 30,
            check=False,
        )

    def _connect_maintenance(self) -> psycopg.Connection[tuple[object, ...]]:
        """Connect to the maintenance database in autocommit mode, which CREATE DATABASE needs."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self._require_port(),
            user=POSTGRES_USER,
            dbname=POSTGRES_MAINTENANCE_DATABASE,
            autocommit=True,
            connect_timeout=10,
        )


class RedisServer:
    """A redis-server child process on 127.0.0.1, without persistence, in a temporary directory.

    The port stays the same across restarts.
    """

    def __init__(self) -> None:
        self.executable = find_redis_server()
        self.base_dir: Path | None = None
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()

    @property
    def log_path(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("the Redis server has not been started")
        return self.base_dir / "server.log"

    @property
    def url(self) -> str:
        """URL of database 0."""
        if self.port is None:
            raise RuntimeError("the Redis server has not been started")
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it replies to PING.

        Raises RuntimeError with the server log when the server does not start.
        """
        if self._process is not None and self._process.poll() is None:
            return
        first_start = self.base_dir is None
        started_at = time.monotonic()
        if first_start:
            self.base_dir = Path(tempfile.mkdtemp(prefix="cocvm-redis-"))
            self.port = free_port()
            atexit.register(self._cleanup_at_exit)

        # As for PostgreSQL, only the first start moves to another port when its port is taken.
        attempts = START_ATTEMPTS if first_start else 1
        for attempt in range(1, attempts + 1):
            log_offset = _log_size(self.log_path)
            if self._spawn_and_wait():
                break
            log_text = _log_tail(self.log_path, log_offset)
            if attempt == attempts or "Address already in use" not in log_text:
                raise RuntimeError(
                    f"redis-server failed to start on 127.0.0.1:{self.port}.\n"
                    f"Server log {self.log_path}:\n{log_text}"
                )
            logger.warning("port %s is taken, starting Redis on another port", self.port)
            self.port = free_port()

        elapsed = time.monotonic() - started_at
        logger.info("started Redis on 127.0.0.1:%s in %.2f s", self.port, elapsed)

    def stop(self) -> None:
        """Stop the server with SIGTERM, or SIGKILL after 10 s, unless it is stopped already."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        # Forgotten only once it has exited, so an interrupted stop can be repeated.
        self._process = None
        logger.info("stopped Redis on 127.0.0.1:%s", self.port)

    def restart(self) -> None:
        """Stop and start the server on the same port. Its data is lost, as persistence is off."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete its directory. The server cannot start again.

        When stopping is interrupted, the atexit handler stays, so it tries again when the
        interpreter exits.
        """
        self.stop()
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        atexit.unregister(self._cleanup_at_exit)

    def _cleanup_at_exit(self) -> None:
        if os.getpid() == self._owner_pid:
            self.cleanup()

    def _spawn_and_wait(self) -> bool:
        """Start redis-server and return whether it replied to PING before it exited."""
        assert self.base_dir is not None and self.port is not None
        with self.log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [
                    str(self.executable),
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--dir", str(self.base_dir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
            )  # fmt: skip
        self._process = process

        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                return False
            try:
                if send_redis_command(self.port, "PING") == b"+PONG":
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        return False


def send_redis_command(port: int, *words: str) -> bytes:
    """Send one command to the Redis server on 127.0.0.1:`port` and return the reply's first line.

    The line is returned without its CRLF, e.g. b"+PONG" or b"+OK". Raises OSError when the
    connection fails or closes before a full line arrives.
    """
    encoded = [word.encode("utf-8") for word in words]
    request = b"*%d\r\n" % len(encoded)
    request += b"".join(b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded)

    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        reply = b""
        while b"\r\n" not in reply:
            chunk = connection.recv(4096)
            if not chunk:
                raise ConnectionError(f"Redis on port {port} closed the connection before replying")
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


Server = TypeVar("Server", PostgresServer, RedisServer)


def _start_or_fail(server_class: type[Server]) -> Server:
    """Create and start a server; fail the requesting test when its programs are missing."""
    try:
        server = server_class()
    except ServiceUnavailableError as error:
        # A failure rather than a skip, because a skipped store would let a broken CI pass.
        raise pytest.fail.Exception(str(error), pytrace=False) from None
    try:
        server.start()
    except BaseException:
        server.cleanup()
        raise
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server."""
    server = _start_or_fail(PostgresServer)
    yield server
    server.cleanup()


@contextlib.contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """Create an empty database with a name unique in this session, and drop it on exit."""
    name = f"pytest_{next(_database_numbers)}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty PostgreSQL database that is dropped after the test."""
    with fresh_database(postgres) as url:
        yield url


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """The session's Redis server."""
    server = _start_or_fail(RedisServer)
    yield server
    server.cleanup()


@pytest.fixture
def redis_url(redis: RedisServer) -> str:
    """URL of Redis database 0, emptied with FLUSHDB before the test."""
    assert redis.port is not None
    reply = send_redis_command(redis.port, "FLUSHDB")
    if reply != b"+OK":
        raise RuntimeError(f"FLUSHDB on Redis port {redis.port} returned {reply!r}")
    return redis.url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a new, empty catalog database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
