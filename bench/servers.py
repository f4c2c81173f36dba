"""Starting and stopping the HTTP servers under test, each a real process pinned to one CPU.

Servers run in their own session, so a Ctrl-C on the terminal reaches only the benchmark, which then
stops them in order. The kernel also sends them SIGTERM when the benchmark process dies, so a killed
benchmark leaves no server behind (Linux only: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


class BenchError(RuntimeError):
    """A step of the benchmark failed. The message names the step and any server log to read."""


@dataclass(frozen=True, slots=True)
class Server:
    """A running server: its name, process, loopback port and log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def url(self, path: str) -> str:
        """Return the URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    """Return a loopback TCP port that is free now (another process could still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log_path: Path,
    ready_path: str,
    cpu: int,
    environment: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run `command` pinned to `cpu` until the block ends, once GET `ready_path` returns 200.

    The server's standard output and error go to `log_path`. Raises BenchError when the server
    exits or does not become ready within READY_TIMEOUT_SECONDS.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["taskset", "-c", str(cpu), *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(environment or {})},
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
    server = Server(name=name, process=process, port=port, log_path=log_path)
    try:
        _wait_until_ready(server, ready_path)
        yield server
    finally:
        stop_server(server)


def stop_server(server: Server) -> None:
    """Stop a server with SIGTERM, or SIGKILL when it has not exited after STOP_TIMEOUT_SECONDS."""
    process = server.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_get(
    port: int, path: str, headers: Mapping[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, bytes]:
    """Send one GET to a loopback port over a new connection and return the status and body.

    The Host header is `127.0.0.1:PORT`, the value wrk sends too.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_until_ready(server: Server, ready_path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        exit_code = server.process.poll()
        if exit_code is not None:
            raise BenchError(
                f"{server.name} exited with code {exit_code} before it was ready; "
                f"see {server.log_path}"
            )
        try:
            status, _ = http_get(server.port, ready_path, timeout=1.0)
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.1)
    raise BenchError(
        f"{server.name} did not return 200 for {ready_path} within {READY_TIMEOUT_SECONDS:.0f} s; "
        f"see {server.log_path}"
    )


def _stop_with_parent() -> None:
    # Runs in the child between fork and exec; the setting survives taskset's exec of the server.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
