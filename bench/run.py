"""The describeImages benchmark that `make bench` runs.

Steps:
1. Install wrk (scripts/install-bench-tools.sh).
2. Generate a catalog of 100,000 images and time `cocvm images import` on it.
3. Start `cocvm serve` on an empty database, which loads the default catalog, and save one of its
   replies for the raw ASGI app.
4. Load four servers in turn, each a real process with one worker on CPU 0, with wrk on CPU 1:
   the raw ASGI app, cocvm on the default catalog, cocvm on the 100,000-image catalog, and the raw
   ASGI app again. Interleaving spreads machine noise over both sides of the ratio.

cocvm runs as in production, with INFO logging and its access log, written to files under .bench/.
Figures are printed and written to .bench/results.json. The last line is the throughput of cocvm on
the default catalog over the mean throughput of the raw ASGI runs.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Literal

from bench.catalog import CatalogShape, write_catalog
from bench.queries import SAMPLE_PATH, check_paths, request_paths
from bench.raw_asgi import BODY_FILE_VARIABLE
from bench.servers import BenchError, free_port, http_get, running_server
from bench.wrk import CONNECTIONS, THREADS, WrkResult, run_wrk, write_script

REPOSITORY = Path(__file__).resolve().parent.parent
BENCH_DIRECTORY = REPOSITORY / ".bench"
INSTALL_SCRIPT = REPOSITORY / "scripts" / "install-bench-tools.sh"
VENV_BIN = Path(sys.executable).parent

SERVER_CPU = 0
WRK_CPU = 1
WARMUP_SECONDS = 2
MEASURE_SECONDS = 10
IMPORT_GOAL_SECONDS = 10.0
IMPORT_TIMEOUT_SECONDS = 120
UNREACHABLE_RATE_LIMIT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Target:
    """A server to load: how to start it and how to tell when it is ready."""

    name: str
    kind: Literal["raw", "cocvm"]
    """`raw` for the raw ASGI app, `cocvm` for the describeImages server."""
    catalog: str
    log_name: str
    database_path: Path | None = None
    environment: dict[str, str] = field(default_factory=dict)

    def command(self, port: int) -> list[str]:
        """Return the command line that serves this target on `port`."""
        if self.database_path is not None:
            return _cocvm_serve_command(self.database_path, port)
        return [
            str(VENV_BIN / "uvicorn"),
            "--factory",
            "bench.raw_asgi:create_app",
            "--app-dir",
            str(REPOSITORY),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--workers",
            "1",
            # `cocvm serve` sends no Server header either, so both replies have the same headers.
            "--no-server-header",
        ]

    @property
    def ready_path(self) -> str:
        """A path for which GET returns 200 once the server is ready."""
        return "/readyz" if self.kind == "cocvm" else "/"


@dataclass(frozen=True, slots=True)
class Measurement:
    """The figures of one measured run."""

    target: Target
    result: WrkResult


def main() -> int:
    """Run the benchmark and return the process exit code."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _run()
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; every server it started has been stopped", file=sys.stderr)
        return 130
    return 0


def _run() -> None:
    _install_tools()
    _check_cpus()
    BENCH_DIRECTORY.mkdir(exist_ok=True)
    paths = request_paths()
    script = BENCH_DIRECTORY / "describe-images.lua"
    write_script(script, paths)
    print(
        f"describeImages benchmark: wrk -t{THREADS} -c{CONNECTIONS} -d{MEASURE_SECONDS}s "
        f"--latency on CPU {WRK_CPU}, one server worker on CPU {SERVER_CPU}, "
        f"{WARMUP_SECONDS} s warm-up per run, {len(paths)} request paths in turn; "
        "cocvm logs at INFO and runs with --auth off",
        flush=True,
    )

    large_database = BENCH_DIRECTORY / "catalog-100k.db"
    shape = CatalogShape()
    import_seconds = _import_large_catalog(large_database, shape)

    default_database = BENCH_DIRECTORY / "catalog-default.db"
    reply_file = BENCH_DIRECTORY / "raw-reply.json"
    _prepare_default_catalog(default_database, reply_file, paths)

    raw_environment = {BODY_FILE_VARIABLE: str(reply_file)}
    plan = [
        Target("raw ASGI (run 1)", "raw", "canned reply", "raw-asgi-1.log", None, raw_environment),
        Target("cocvm, default catalog", "cocvm", "default", "cocvm-default.log", default_database),
        Target("cocvm, 100k catalog", "cocvm", "100k", "cocvm-100k.log", large_database),
        Target("raw ASGI (run 2)", "raw", "canned reply", "raw-asgi-2.log", None, raw_environment),
    ]
    measurements = [_measure(target, script, paths) for target in plan]

    _report(measurements, import_seconds, shape, reply_file, paths)


def _install_tools() -> None:
    try:
        subprocess.run([str(INSTALL_SCRIPT)], stdin=subprocess.DEVNULL, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise BenchError(f"installing the benchmark tools failed: {error}") from None


def _check_cpus() -> None:
    available = os.sched_getaffinity(0)
    needed = {SERVER_CPU, WRK_CPU}
    if not needed <= available:
        raise BenchError(
            f"the benchmark pins the server to CPU {SERVER_CPU} and wrk to CPU {WRK_CPU}, "
            f"but this process may run only on CPUs {sorted(available)}"
        )


def _import_large_catalog(database: Path, shape: CatalogShape) -> float:
    """Generate the large catalog file, import it into a new database, and return the seconds."""
    catalog_file = BENCH_DIRECTORY / "catalog-100k.jsonl"
    started = time.perf_counter()
    count = write_catalog(catalog_file, shape)
    print(
        f"generated {count} images ({len(shape.regions)} regions, {shape.public_images_per_region} "
        f"public per region, {shape.private_images} private of {shape.owner_pins} owner pins) "
        f"in {time.perf_counter() - started:.2f} s",
        flush=True,
    )

    _remove_database(database)
    command = [
        str(VENV_BIN / "cocvm"),
        "images",
        "import",
        str(catalog_file),
        "--database",
        _database_url(database),
    ]
    started = time.perf_counter()
    try:
        subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=IMPORT_TIMEOUT_SECONDS,
        )
    except subprocess.CalledProcessError as error:
        raise BenchError(
            f"cocvm images import failed with code {error.returncode}: "
            f"{error.stderr.decode(errors='replace').strip()}"
        ) from None
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"cocvm images import timed out after {IMPORT_TIMEOUT_SECONDS} s"
        ) from None
    seconds = time.perf_counter() - started

    verdict = "met" if seconds < IMPORT_GOAL_SECONDS else "MISSED"
    print(
        f"cocvm images import of {count} images: {seconds:.2f} s "
        f"(goal: under {IMPORT_GOAL_SECONDS:.0f} s, {verdict})",
        flush=True,
    )
    return seconds


def _prepare_default_catalog(database: Path, reply_file: Path, paths: Sequence[str]) -> None:
    """Let `cocvm serve` load the default catalog into a new database, and save a sample reply."""
    _remove_database(database)
    target = Target("cocvm, loading the default catalog", "cocvm", "default", "cocvm-setup.log")
    port = free_port()
    with running_server(
        target.name,
        _cocvm_serve_command(database, port),
        port=port,
        log_path=BENCH_DIRECTORY / target.log_name,
        ready_path=target.ready_path,
        cpu=SERVER_CPU,
    ) as server:
        check_paths(server, list(paths))
        status, body = http_get(server.port, SAMPLE_PATH)
    if status != 200:
        raise BenchError(f"{SAMPLE_PATH} returned HTTP {status}, so there is no sample reply")
    reply_file.write_bytes(body)


def _measure(target: Target, script: Path, paths: Sequence[str]) -> Measurement:
    """Start the target, check it, warm it up, load it, and stop it."""
    port = free_port()
    with running_server(
        target.name,
        target.command(port),
        port=port,
        log_path=BENCH_DIRECTORY / target.log_name,
        ready_path=target.ready_path,
        cpu=SERVER_CPU,
        environment=target.environment,
    ) as server:
        if target.kind == "cocvm":
            check_paths(server, list(paths))
        url = server.url("/")
        run_wrk(url, script, duration_seconds=WARMUP_SECONDS, cpu=WRK_CPU)
        result = run_wrk(url, script, duration_seconds=MEASURE_SECONDS, cpu=WRK_CPU)

    if result.status_errors:
        raise BenchError(
            f"{target.name}: {result.status_errors} of {result.requests} responses had an HTTP "
            f"error status; see {BENCH_DIRECTORY / target.log_name}"
        )
    print(_format_measurement(target.name, result), flush=True)
    return Measurement(target, result)


def _report(
    measurements: Sequence[Measurement],
    import_seconds: float,
    shape: CatalogShape,
    reply_file: Path,
    paths: Sequence[str],
) -> None:
    raw_runs = [m.result.requests_per_second for m in measurements if m.target.kind == "raw"]
    raw_mean = sum(raw_runs) / len(raw_runs)
    raw_spread = (max(raw_runs) - min(raw_runs)) / raw_mean
    default_rps = _requests_per_second(measurements, "default")
    large_rps = _requests_per_second(measurements, "100k")
    default_ratio = default_rps / raw_mean
    large_ratio = large_rps / raw_mean

    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "settings": {
            "wrk": f"-t{THREADS} -c{CONNECTIONS} -d{MEASURE_SECONDS}s --latency",
            "warmup_seconds": WARMUP_SECONDS,
            "server_cpu": SERVER_CPU,
            "wrk_cpu": WRK_CPU,
            "server_workers": 1,
            "cocvm_log_level": "INFO",
            "cocvm_auth": "off",
            "cocvm_rate_limit_per_second": UNREACHABLE_RATE_LIMIT,
            "cocvm_rate_limit_per_minute": UNREACHABLE_RATE_LIMIT,
            "raw_reply_bytes": reply_file.stat().st_size,
            "request_paths": list(paths),
        },
        "import": {
            "images": shape.total_images,
            "seconds": round(import_seconds, 3),
            "goal_seconds": IMPORT_GOAL_SECONDS,
        },
        "runs": [
            {
                "name": m.target.name,
                "server": m.target.kind,
                "catalog": m.target.catalog,
                **asdict(m.result),
                "bytes_per_response": round(m.result.bytes_per_response, 1),
            }
            for m in measurements
        ],
        "raw_asgi_mean_requests_per_second": round(raw_mean, 2),
        "raw_asgi_spread": round(raw_spread, 4),
        "ratio_default_catalog": round(default_ratio, 4),
        "ratio_100k_catalog": round(large_ratio, 4),
    }
    results_file = BENCH_DIRECTORY / "results.json"
    results_file.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    print(
        f"raw ASGI mean: {raw_mean:.1f} requests/s (its two runs differ by {raw_spread:.1%}); "
        f"figures in {results_file.relative_to(REPOSITORY)}"
    )
    print(f"describeImages (100k catalog) vs raw ASGI: {large_ratio:.2f}")
    print(f"describeImages vs raw ASGI: {default_ratio:.2f}")


def _format_measurement(name: str, result: WrkResult) -> str:
    line = (
        f"{name:<24} {result.requests_per_second:>9.1f} requests/s   "
        f"p50 {result.latency_p50_ms:>7.2f} ms   p99 {result.latency_p99_ms:>7.2f} ms   "
        f"{result.bytes_per_response:>6.0f} bytes/response"
    )
    if result.socket_errors:
        line += f"   ({result.socket_errors} socket errors)"
    return line


def _requests_per_second(measurements: Sequence[Measurement], catalog: str) -> float:
    for measurement in measurements:
        if measurement.target.kind == "cocvm" and measurement.target.catalog == catalog:
            return measurement.result.requests_per_second
    raise BenchError(f"no cocvm run on the {catalog} catalog")


def _machine() -> dict[str, object]:
    wrk_version = subprocess.run(
        ["wrk", "--version"], stdin=subprocess.DEVNULL, capture_output=True, text=True
    ).stdout.partition("\n")[0]
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "uvicorn": metadata.version("uvicorn"),
        "wrk": wrk_version.removeprefix("wrk ").partition(" [")[0],
        "kernel": platform.release(),
    }


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            return value.strip()
    return platform.processor()


def _cocvm_serve_command(database: Path, port: int) -> list[str]:
    return [
        str(VENV_BIN / "cocvm"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database",
        _database_url(database),
        "--workers",
        "1",
        "--log-level",
        "INFO",
        # wrk replays fixed requests, and a signed request cannot be replayed (its nonce is used
        # up), so the server runs without signature checks and every caller is anonymous.
        "--auth",
        "off",
        # Anonymous callers are throttled per client address, and all of wrk's requests come from
        # 127.0.0.1. Limits far above any reachable rate keep the limiter counting every request
        # without rejecting one.
        "--rate-limit-per-second",
        str(UNREACHABLE_RATE_LIMIT),
        "--rate-limit-per-minute",
        str(UNREACHABLE_RATE_LIMIT),
    ]


def _database_url(database: Path) -> str:
    return f"sqlite:///{database}"


def _remove_database(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)


def _interrupt(_signal_number: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `with running_server(...)` stops its server.
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
