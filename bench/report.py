"""The benchmark's report: one line per measured run, the comparisons, and .bench/results.json.

The last line printed is `describeImages vs raw ASGI: <ratio>`, the throughput of cocvm on the
default catalog with `--auth off` over the mean throughput of the raw ASGI runs.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.servers import BenchError
from bench.signed_requests import SIGNED_HEADER_NAMES
from bench.targets import REPOSITORY, UNREACHABLE_RATE_LIMIT, Measurement
from bench.wrk import CONNECTIONS, THREADS, WrkResult

# The run ids of the runs that the comparisons use.
DEFAULT_RUN = "cocvm-default"
SIGNED_RUN = "cocvm-signed"
SQLITE_100K_RUN = "cocvm-100k-sqlite"
POSTGRESQL_100K_RUN = "cocvm-100k-postgresql"


@dataclass(frozen=True, slots=True)
class ImportTiming:
    """The time `cocvm images import` took to load the large catalog into one database."""

    store: str
    images: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings of the runs, for results.json."""

    warmup_seconds: int
    measure_seconds: int
    server_cpu: int
    wrk_cpu: int
    import_goal_seconds: float
    raw_reply_bytes: int
    request_paths: list[str]
    postgresql_version: str


def format_measurement(name: str, result: WrkResult) -> str:
    """Format one run's figures as a line of the report."""
    line = (
        f"{name:<24} {result.requests_per_second:>9.1f} requests/s   "
        f"p50 {result.latency_p50_ms:>7.2f} ms   p99 {result.latency_p99_ms:>7.2f} ms   "
        f"{result.bytes_per_response:>6.0f} bytes/response"
    )
    if result.socket_errors:
        line += f"   ({result.socket_errors} socket errors)"
    return line


def report(
    measurements: Sequence[Measurement],
    sqlite_import: ImportTiming,
    postgresql_import: ImportTiming,
    settings: Settings,
    results_file: Path,
) -> None:
    """Print the comparisons and the ratios, and write every figure to `results_file`."""
    raw_runs = [m.result.requests_per_second for m in measurements if m.target.kind == "raw"]
    raw_mean = sum(raw_runs) / len(raw_runs)
    raw_spread = (max(raw_runs) - min(raw_runs)) / raw_mean
    default = _find(measurements, DEFAULT_RUN)
    signed = _find(measurements, SIGNED_RUN)
    sqlite_100k = _find(measurements, SQLITE_100K_RUN)
    postgresql_100k = _find(measurements, POSTGRESQL_100K_RUN)
    default_rps = default.result.requests_per_second
    signed_rps = signed.result.requests_per_second
    sqlite_100k_rps = sqlite_100k.result.requests_per_second
    postgresql_100k_rps = postgresql_100k.result.requests_per_second

    # A worker that keeps its CPU busy spends about 1/throughput seconds on each request, so the
    # difference of the two is about what the signature check adds to one request.
    signature_check_microseconds = (1 / signed_rps - 1 / default_rps) * 1e6
    default_ratio = default_rps / raw_mean

    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(settings.postgresql_version),
        "settings": {
            "wrk": f"-t{THREADS} -c{CONNECTIONS} -d{settings.measure_seconds}s --latency",
            "warmup_seconds": settings.warmup_seconds,
            "server_cpu": settings.server_cpu,
            "postgresql_cpu": settings.server_cpu,
            "wrk_cpu": settings.wrk_cpu,
            "server_workers": 1,
            "cocvm_log_level": "INFO",
            "cocvm_rate_limit_per_second": UNREACHABLE_RATE_LIMIT,
            "cocvm_rate_limit_per_minute": UNREACHABLE_RATE_LIMIT,
            "signed_headers": list(SIGNED_HEADER_NAMES),
            "raw_reply_bytes": settings.raw_reply_bytes,
            "request_paths": settings.request_paths,
        },
        "import": _import_figures(sqlite_import, settings.import_goal_seconds),
        "import_postgresql": _import_figures(postgresql_import, settings.import_goal_seconds),
        "runs": [
            {
                "id": m.target.run_id,
                "name": m.target.name,
                "server": m.target.kind,
                "catalog": m.target.catalog,
                "store": m.target.store,
                "auth": m.target.auth,
                **asdict(m.result),
                "bytes_per_response": round(m.result.bytes_per_response, 1),
            }
            for m in measurements
        ],
        "raw_asgi_mean_requests_per_second": round(raw_mean, 2),
        "raw_asgi_spread": round(raw_spread, 4),
        "ratio_default_catalog": round(default_ratio, 4),
        "ratio_signed_default_catalog": round(signed_rps / raw_mean, 4),
        "ratio_100k_catalog": round(sqlite_100k_rps / raw_mean, 4),
        "ratio_100k_catalog_postgresql": round(postgresql_100k_rps / raw_mean, 4),
        "signed_vs_unsigned": round(signed_rps / default_rps, 4),
        "postgresql_vs_sqlite_100k": round(postgresql_100k_rps / sqlite_100k_rps, 4),
        "signature_check_microseconds_per_request": round(signature_check_microseconds, 1),
    }
    results_file.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    print()
    print("signed requests (--auth strict) vs unsigned (--auth off), default catalog:")
    print("  " + format_measurement(default.target.name, default.result))
    print("  " + format_measurement(signed.target.name, signed.result))
    print(f"  signed vs unsigned throughput: {signed_rps / default_rps:.2f}")
    print(
        f"signature check: {signature_check_microseconds:.1f} µs per request "
        "(1/signed - 1/unsigned throughput)"
    )
    print("PostgreSQL vs SQLite, 100k catalog:")
    print("  " + format_measurement(sqlite_100k.target.name, sqlite_100k.result))
    print("  " + format_measurement(postgresql_100k.target.name, postgresql_100k.result))
    print(f"  PostgreSQL vs SQLite throughput: {postgresql_100k_rps / sqlite_100k_rps:.2f}")
    print(
        f"  cocvm images import of {sqlite_import.images} images: "
        f"SQLite {sqlite_import.seconds:.2f} s, PostgreSQL {postgresql_import.seconds:.2f} s"
    )
    print(
        f"raw ASGI mean: {raw_mean:.1f} requests/s (its two runs differ by {raw_spread:.1%}); "
        f"figures in {results_file.relative_to(REPOSITORY)}"
    )
    print(f"describeImages (100k catalog) vs raw ASGI: {sqlite_100k_rps / raw_mean:.2f}")
    print(f"describeImages vs raw ASGI: {default_ratio:.2f}")


def _import_figures(timing: ImportTiming, goal_seconds: float) -> dict[str, object]:
    return {
        "store": timing.store,
        "images": timing.images,
        "seconds": round(timing.seconds, 3),
        "goal_seconds": goal_seconds,
    }


def _find(measurements: Sequence[Measurement], run_id: str) -> Measurement:
    for measurement in measurements:
        if measurement.target.run_id == run_id:
            return measurement
    raise BenchError(f"the benchmark made no run {run_id}")


def _machine(postgresql_version: str) -> dict[str, object]:
    wrk_version = subprocess.run(
        ["wrk", "--version"], stdin=subprocess.DEVNULL, capture_output=True, text=True
    ).stdout.partition("\n")[0]
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "uvicorn": metadata.version("uvicorn"),
        "wrk": wrk_version.removeprefix("wrk ").partition(" [")[0],
        "postgresql": postgresql_version,
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
