"""Fixtures shared by the whole suite: cocvm servers started as real processes on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cocvm.signing import sign_request_parts
from cocvm.store.database import create_catalog_engine
from cocvm.store.keys import create_access_key
from cocvm.store.secret_box import load_secret_box

# PostgreSQL and Redis servers for the tests (fixtures postgres, redis, database_url, ...).
pytest_plugins = ["services"]

TEST_PIN = "tester"
# The session servers serve many tests from one key in tight loops, which would meet the default
# per-key rate limit; rate limit tests start servers of their own.
UNLIMITED = ("--rate-limit-per-second", "0", "--rate-limit-per-minute", "0")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cocvm(
    *arguments: str, input_bytes: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the `cocvm` command line in a child process and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "cocvm", *arguments],
        input=input_bytes,
        capture_output=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@dataclass
class Response:
    """An HTTP response as the tests read it."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Credentials:
    """An access key pair and the pin that owns it."""

    access_key: str
    secret_key: str
    pin: str


@dataclass
class RunningServer:
    """A `cocvm serve` process, the address it listens on, and a key it accepts."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    database_url: str
    log_path: Path
    credentials: Credentials
    environment: dict[str, str]

    @property
    def endpoint(self) -> str:
        """host:port, as JD Cloud's clients take an endpoint."""
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def get(
        self,
        target: str,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        *,
        signed: bool = True,
        credentials: Credentials | None = None,
    ) -> Response:
        """Send one request; `target` is the path and query exactly as they go on the wire.

        The request is signed with JDCLOUD3 by the server's test key (or `credentials`) unless
        `signed` is False.
        """
        headers = dict(headers or {})
        if signed:
            headers = sign_target(
                method, self.endpoint, target, headers, credentials or self.credentials
            )
        return http_request(self.host, self.port, method, target, headers)

    def cocvm(self, *arguments: str) -> subprocess.CompletedProcess[bytes]:
        """Run a `cocvm` command on this server's database and server key."""
        return run_cocvm(*arguments, "--database", self.database_url, env=self.environment)

    def add_key(self, pin: str) -> Credentials:
        """Create an access key for `pin` in this server's database, in this process."""
        return add_key(self.database_url, self.environment, pin)

    def create_key(self, pin: str) -> Credentials:
        """Create an access key for `pin` with `cocvm keys create`."""
        return create_key(self.database_url, pin, self.environment)

    def wait_for_log(self, text: str, timeout: float = 5.0) -> str:
        """Return the server's log once it contains `text`; access lines are flushed every 0.1 s."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_path.read_text(encoding="utf-8")
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8").splitlines()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def sign_target(
    method: str, endpoint: str, target: str, headers: dict[str, str], credentials: Credentials
) -> dict[str, str]:
    """Return `headers` plus a JDCLOUD3 signature for the raw request target."""
    path, _, query = target.partition("?")
    segments = path.split("/")
    is_region_path = len(segments) > 3 and segments[1:3] == ["v1", "regions"]
    region = segments[3] if is_region_path else "cn-north-1"
    return sign_request_parts(
        method,
        endpoint,
        path,
        query,
        headers,
        b"",
        credentials.access_key,
        credentials.secret_key,
        region,
        "vm",
    )


def add_key(database_url: str, environment: dict[str, str], pin: str) -> Credentials:
    """Create an access key as `cocvm keys create` does, but in this process, which is faster."""
    engine = create_catalog_engine(database_url)
    try:
        box = load_secret_box(environment["COCVM_SERVER_KEY_FILE"], create=False)
        new_key = create_access_key(engine, box, pin)
    finally:
        engine.dispose()
    return Credentials(new_key.access_key, new_key.secret_key, pin)


def create_key(database_url: str, pin: str, environment: dict[str, str]) -> Credentials:
    """Create an access key for `pin` in a database with `cocvm keys create --json`."""
    created = run_cocvm(
        "keys", "create", "--pin", pin, "--json", "--database", database_url, env=environment
    )
    assert created.returncode == 0, created.stderr.decode()
    key = json.loads(created.stdout)
    return Credentials(key["accessKey"], key["secretKey"], key["pin"])


def http_request(
    host: str, port: int, method: str, target: str, headers: dict[str, str], body: bytes = b""
) -> Response:
    """Send a raw HTTP/1.1 request so that the target's bytes reach the server unchanged."""
    with socket.create_connection((host, port), timeout=30) as connection:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        connection.sendall(head + body)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head_bytes, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    parsed_headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed_headers[name.strip().lower()] = value.strip()
    return Response(status=int(status_line.split()[1]), headers=parsed_headers, body=payload)


def _spawn_server(
    port: int,
    database_url: str,
    log_file: Any,
    extra_arguments: tuple[str, ...],
    env: dict[str, str] | None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cocvm",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database",
            database_url,
            *extra_arguments,
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )


def start_server(
    work_dir: Path,
    *extra_arguments: str,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
) -> RunningServer:
    """Start `cocvm serve` on a free loopback port and wait until /healthz responds."""
    database_url = database_url or f"sqlite:///{work_dir / 'catalog.db'}"
    environment = {"COCVM_SERVER_KEY_FILE": str(work_dir / "server.key"), **(env or {})}
    credentials = create_key(database_url, TEST_PIN, environment)
    port = free_port()
    log_path = work_dir / f"server-{port}.log"
    with log_path.open("wb") as log_file:
        process = _spawn_server(port, database_url, log_file, extra_arguments, environment)
    server = RunningServer(
        process, "127.0.0.1", port, database_url, log_path, credentials, environment
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cocvm serve exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"cocvm serve did not start in time:\n{log_path.read_text()}")


STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def new_database_url(request: pytest.FixtureRequest, store: str, work_dir: Path) -> str:
    """Return a fresh, empty catalog database of the given store kind."""
    if store == "sqlite":
        return f"sqlite:///{work_dir / 'catalog.db'}"
    postgres = request.getfixturevalue("postgres")
    url: str = postgres.create_database(f"catalog_{uuid.uuid4().hex[:16]}")
    return url


@pytest.fixture(scope="session", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """The catalog store under test: every test of the session servers runs on both."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def coc_vm_server(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server in the default coc-vm profile over the default catalog."""
    work_dir = tmp_path_factory.mktemp("coc-vm")
    database_url = new_database_url(request, store, work_dir)
    server = start_server(work_dir, *UNLIMITED, database_url=database_url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vm_server(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server in the vm profile over the default catalog."""
    work_dir = tmp_path_factory.mktemp("vm")
    database_url = new_database_url(request, store, work_dir)
    server = start_server(work_dir, "--profile", "vm", *UNLIMITED, database_url=database_url)
    yield server
    server.stop()


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Start servers with custom arguments; every one is stopped when the test ends.

    Servers started without a `database_url` argument use the `database_url` fixture's database,
    so a test runs once on SQLite and once on PostgreSQL.
    """
    started: list[RunningServer] = []

    def factory(*arguments: str, **keywords: Any) -> RunningServer:
        keywords.setdefault("database_url", database_url)
        server = start_server(tmp_path, *arguments, **keywords)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def page_through(server: RunningServer, query: str, page_size: int) -> list[dict[str, Any]]:
    """Fetch every page of a describeImages query and return the pages' result objects."""
    results = []
    page_number = 1
    while True:
        reply = server.get(f"{query}&pageSize={page_size}&pageNumber={page_number}")
        assert reply.status == 200, reply.body
        result = reply.json()["result"]
        results.append(result)
        if page_number * page_size >= result["totalCount"]:
            return results
        page_number += 1
