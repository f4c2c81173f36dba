"""Running wrk against a server and reading its report.

wrk sends the requests of a Lua script in turn over keep-alive connections. Throughput and
the latency percentiles come from wrk's own report (`--latency`). The script's `done` hook adds the
exact request, byte and error counts, which the report only rounds.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.queries import Request

THREADS = 1
CONNECTIONS = 32

_SUMMARY_PREFIX = "bench-summary"
_SUMMARY = re.compile(
    _SUMMARY_PREFIX
    + r" requests=(?P<requests>\d+) bytes=(?P<bytes>\d+)"
    + r" status_errors=(?P<status_errors>\d+) socket_errors=(?P<socket_errors>\d+)"
)
_REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([0-9.]+)\s*$", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(\d+(?:\.\d+)?)%\s+([0-9.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_MILLISECONDS_PER_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9/._~%&=+-]*(\?[A-Za-z0-9._~%&=+-]*)?$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
# Printable ASCII, which a Lua string in the script can contain once `\` and `"` are escaped.
_SAFE_HEADER_VALUE = re.compile(r"^[\x20-\x7e]*$")

_LUA_TEMPLATE = """\
-- Sends the benchmark's describeImages queries in turn. Written by bench/wrk.py.
local specs = {
%(specs)s
}
local requests = {}
local counter = 0

init = function(args)
  for index, spec in ipairs(specs) do
    -- wrk.headers contains the Host header that wrk derives from the URL (127.0.0.1:PORT).
    local headers = {}
    for name, value in pairs(wrk.headers) do
      headers[name] = value
    end
    for name, value in pairs(spec.headers) do
      headers[name] = value
    end
    requests[index] = wrk.format("GET", spec.path, headers)
  end
end

request = function()
  counter = counter %% #requests + 1
  return requests[counter]
end

done = function(summary, latency, responses)
  local errors = summary.errors
  io.write(string.format(
    "%(prefix)s requests=%%d bytes=%%d status_errors=%%d socket_errors=%%d\\n",
    summary.requests, summary.bytes, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class WrkResult:
    """The figures of one wrk run. Latencies are in milliseconds."""

    requests_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    requests: int
    bytes_read: int
    status_errors: int
    """Responses with an HTTP status of 400 or more."""
    socket_errors: int
    """Failed connects, reads and writes, and requests that timed out."""

    @property
    def bytes_per_response(self) -> float:
        """Mean bytes read per response, headers included."""
        return self.bytes_read / self.requests if self.requests else 0.0


def write_script(path: Path, requests: Sequence[Request]) -> None:
    """Write a wrk Lua script that sends `requests` in turn, one per wrk request.

    Raises ValueError for a path, header name or header value that the script cannot hold.
    """
    if not requests:
        raise ValueError("the wrk script needs at least one request")
    specs = ",\n".join(_lua_request(request) for request in requests)
    path.write_text(_LUA_TEMPLATE % {"specs": specs, "prefix": _SUMMARY_PREFIX})


def _lua_request(request: Request) -> str:
    if not _SAFE_PATH.fullmatch(request.path):
        raise ValueError(
            f"request path {request.path!r} has characters the Lua script does not escape; "
            "percent-encode them"
        )
    headers = []
    for name, value in request.headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"invalid header name {name!r} for {request.path}")
        if not _SAFE_HEADER_VALUE.fullmatch(value):
            raise ValueError(
                f"header {name} of {request.path} has a value that is not printable ASCII: "
                f"{value!r}"
            )
        headers.append(f'["{name}"] = {_lua_string(value)}')
    header_table = "{" + ", ".join(headers) + "}"
    return f"  {{path = {_lua_string(request.path)}, headers = {header_table}}}"


def _lua_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def run_wrk(url: str, script: Path, *, duration_seconds: int, cpu: int) -> WrkResult:
    """Load `url` with wrk pinned to `cpu` for `duration_seconds` and return its figures.

    Raises subprocess.CalledProcessError when wrk fails, ValueError when its report lacks a figure.
    """
    command = [
        "taskset",
        "-c",
        str(cpu),
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration_seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    completed = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
        timeout=duration_seconds + 30,
    )
    return parse_report(completed.stdout)


def parse_report(report: str) -> WrkResult:
    """Read throughput and latency from wrk's `--latency` report, and counts from the script."""
    throughput = _REQUESTS_PER_SECOND.search(report)
    summary = _SUMMARY.search(report)
    percentiles = {
        float(match.group(1)): float(match.group(2)) * _MILLISECONDS_PER_UNIT[match.group(3)]
        for match in _PERCENTILE.finditer(report)
    }
    missing = [
        name
        for name, found in (
            ("Requests/sec", throughput is not None),
            ("50% latency", 50.0 in percentiles),
            ("99% latency", 99.0 in percentiles),
            (_SUMMARY_PREFIX, summary is not None),
        )
        if not found
    ]
    if missing or throughput is None or summary is None:
        raise ValueError(f"wrk's report lacks {', '.join(missing)}:\n{report}")

    return WrkResult(
        requests_per_second=float(throughput.group(1)),
        latency_p50_ms=percentiles[50.0],
        latency_p99_ms=percentiles[99.0],
        requests=int(summary.group("requests")),
        bytes_read=int(summary.group("bytes")),
        status_errors=int(summary.group("status_errors")),
        socket_errors=int(summary.group("socket_errors")),
    )
