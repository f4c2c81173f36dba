"""The describeImages benchmark that `make bench` runs.

Steps:
1. Install wrk (scripts/install-bench-tools.sh) and PostgreSQL (scripts/services.sh install).
2. Generate a catalog of 100,000 images and time `cocvm images import` of it into SQLite.
3. Start `cocvm serve` on an empty database, which loads the default catalog, and save one of its
   replies for the raw ASGI app. Create an access key in that database with `cocvm keys create`.
4. Start a throw-away PostgreSQL server on CPU 0, time `cocvm images import` of the same catalog
   into a new database on it, then VACUUM (ANALYZE) that database.
5. Load six servers in turn, each a real process with one worker on CPU 0, with wrk on CPU 1.
   They are the raw ASGI app, cocvm on the default catalog, the same with `--auth strict` and
   signed requests, cocvm on the 100,000-image catalog in SQLite, the same in PostgreSQL, and the
   raw ASGI app again. Interleaving spreads machine noise over both sides of each ratio.
6. Stop PostgreSQL and delete its data, also when a step fails or on Ctrl-C.

cocvm runs as in production, with INFO logging and its access log, written to files under .bench/.
Figures are printed and written to .bench/results.json. The last line is the throughput of cocvm on
the default catalog, unsigned, over the mean throughput of the raw ASGI runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bench.catalog import CatalogShape, write_catalog
from bench.postgres import (
    create_database,
    postgres_version,
    running_postgres,
    vacuum_analyze,
)
from bench.queries import SAMPLE_PATH, Request, check_requests, request_paths
from bench.raw_asgi import BODY_FILE_VARIABLE
from bench.report import (
    DEFAULT_RUN,
    POSTGRESQL_100K_RUN,
    SIGNED_RUN,
    SQLITE_100K_RUN,
    ImportTiming,
    Settings,
    format_measurement,
    report,
)
from bench.servers import BenchError, free_port, http_get, running_server
from bench.signed_requests import (
    SERVER_KEY_FILE_VARIABLE,
    AccessKeyPair,
    check_signature_required,
    create_access_key,
    sign_requests,
)
from bench.targets import (
    REPOSITORY,
    VENV_BIN,
    Measurement,
    Target,
    cocvm_serve_command,
    sqlite_url,
)
from bench.wrk import CONNECTIONS, THREADS, run_wrk, write_script

BENCH_DIRECTORY = REPOSITORY / ".bench"
INSTALL_COMMANDS = (
    [str(REPOSITORY / "scripts" / "install-bench-tools.sh")],
    [str(REPOSITORY / "scripts" / "services.sh"), "install"],
)

SERVER_CPU = 0
WRK_CPU = 1
WARMUP_SECONDS = 2
MEASURE_SECONDS = 10
IMPORT_GOAL_SECONDS = 10.0
IMPORT_TIMEOUT_SECONDS = 120
POSTGRES_DATABASE = "bench_catalog_100k"
SIGNING_PIN = "jd_bench_signer"


def main() -> int:
    """Run the benchmark and return the process exit code."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _run()
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "bench: interrupted; every server it started, PostgreSQL included, has been stopped",
            file=sys.stderr,
        )
        return 130
    return 0


def _run() -> None:
    _install_tools()
    _check_cpus()
    BENCH_DIRECTORY.mkdir(exist_ok=True)
    paths = request_paths()
    print(
        f"describeImages benchmark: wrk -t{THREADS} -c{CONNECTIONS} -d{MEASURE_SECONDS}s "
        f"--latency on CPU {WRK_CPU}, one server worker on CPU {SERVER_CPU}, "
        f"{WARMUP_SECONDS} s warm-up per run, {len(paths)} request paths in turn; "
        "cocvm logs at INFO and runs with --auth off, except the signed run (--auth strict); "
        f"PostgreSQL runs on CPU {SERVER_CPU}",
        flush=True,
    )

    shape = CatalogShape()
    catalog_file = BENCH_DIRECTORY / "catalog-100k.jsonl"
    _generate_catalog(catalog_file, shape)
    large_database = BENCH_DIRECTORY / "catalog-100k.db"
    _remove_database(large_database)
    sqlite_import = _import_catalog(catalog_file, shape, sqlite_url(large_database), "sqlite")

    default_database = BENCH_DIRECTORY / "catalog-default.db"
    reply_file = BENCH_DIRECTORY / "raw-reply.json"
    _prepare_default_catalog(default_database, reply_file, paths)
    # The signed run's server decrypts the key's secret with the server key that this command
    # creates, so both read the same key file.
    key_environment = {SERVER_KEY_FILE_VARIABLE: str(BENCH_DIRECTORY / "server.key")}
    access_key = create_access_key(
        VENV_BIN / "cocvm",
        sqlite_url(default_database),
        SIGNING_PIN,
        {**os.environ, **key_environment},
    )

    with running_postgres({SERVER_CPU}) as postgres:
        postgres_url = create_database(postgres, POSTGRES_DATABASE)
        postgresql_import = _import_catalog(catalog_file, shape, postgres_url, "postgresql")
        vacuum_analyze(postgres_url)

        raw_environment = {BODY_FILE_VARIABLE: str(reply_file)}
        default_url = sqlite_url(default_database)
        plan = [
            Target("raw-asgi-1", "raw ASGI (run 1)", "raw", "canned reply",
                   environment=raw_environment),
            Target(DEFAULT_RUN, "cocvm, default catalog", "cocvm", "default", default_url),
            Target(SIGNED_RUN, "cocvm, default, signed", "cocvm", "default", default_url,
                   access_key, key_environment),
            Target(SQLITE_100K_RUN, "cocvm, 100k, SQLite", "cocvm", "100k",
                   sqlite_url(large_database)),
            Target(POSTGRESQL_100K_RUN, "cocvm, 100k, PostgreSQL", "cocvm", "100k",
                   postgres_url),
            Target("raw-asgi-2", "raw ASGI (run 2)", "raw", "canned reply",
                   environment=raw_environment),
        ]  # fmt: skip
        measurements = [_measure(target, paths) for target in plan]
        version = postgres_version(postgres)

    settings = Settings(
        warmup_seconds=WARMUP_SECONDS,
        measure_seconds=MEASURE_SECONDS,
        server_cpu=SERVER_CPU,
        wrk_cpu=WRK_CPU,
        import_goal_seconds=IMPORT_GOAL_SECONDS,
        raw_reply_bytes=reply_file.stat().st_size,
        request_paths=list(paths),
        postgresql_version=version,
    )
    report(
        measurements, sqlite_import, postgresql_import, settings, BENCH_DIRECTORY / "results.json"
    )


def _install_tools() -> None:
    for command in INSTALL_COMMANDS:
        try:
            subprocess.run(command, stdin=subprocess.DEVNULL, check=True)
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


def _generate_catalog(catalog_file: Path, shape: CatalogShape) -> None:
    started = time.perf_counter()
    count = write_catalog(catalog_file, shape)
    print(
        f"generated {count} images ({len(shape.regions)} regions, {shape.public_images_per_region} "
        f"public per region, {shape.private_images} private of {shape.owner_pins} owner pins) "
        f"in {time.perf_counter() - started:.2f} s",
        flush=True,
    )


def _import_catalog(
    catalog_file: Path, shape: CatalogShape, database_url: str, store: str
) -> ImportTiming:
    """Import the catalog file into an empty database with `cocvm images import`, and time it."""
    command = [
        str(VENV_BIN / "cocvm"),
        "images",
        "import",
        str(catalog_file),
        "--database",
        database_url,
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
            f"cocvm images import into {store} failed with code {error.returncode}: "
            f"{error.stderr.decode(errors='replace').strip()}"
        ) from None
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"cocvm images import into {store} timed out after {IMPORT_TIMEOUT_SECONDS} s"
        ) from None
    seconds = time.perf_counter() - started

    verdict = "met" if seconds < IMPORT_GOAL_SECONDS else "MISSED"
    print(
        f"cocvm images import of {shape.total_images} images into {store}: {seconds:.2f} s "
        f"(goal: under {IMPORT_GOAL_SECONDS:.0f} s, {verdict})",
        flush=True,
    )
    return ImportTiming(store=store, images=shape.total_images, seconds=seconds)


def _prepare_default_catalog(database: Path, reply_file: Path, paths: Sequence[str]) -> None:
    """Let `cocvm serve` load the default catalog into a new database, and save a sample reply."""
    _remove_database(database)
    name = "cocvm, loading the default catalog"
    port = free_port()
    with running_server(
        name,
        cocvm_serve_command(sqlite_url(database), port),
        port=port,
        log_path=BENCH_DIRECTORY / "cocvm-setup.log",
        ready_path="/readyz",
        cpu=SERVER_CPU,
    ) as server:
        check_requests(server, [Request(path) for path in paths])
        status, body = http_get(server.port, SAMPLE_PATH)
    if status != 200:
        raise BenchError(f"{SAMPLE_PATH} returned HTTP {status}, so there is no sample reply")
    reply_file.write_bytes(body)


def _measure(target: Target, paths: Sequence[str]) -> Measurement:
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
        requests = [Request(path) for path in paths]
        if target.access_key is not None:
            check_signature_required(server, paths[0])
            requests = _signed_requests(paths, target.access_key, server.port)
        if target.kind == "cocvm":
            check_requests(server, requests)
        script = BENCH_DIRECTORY / f"{target.run_id}.lua"
        write_script(script, requests)
        url = server.url("/")
        run_wrk(url, script, duration_seconds=WARMUP_SECONDS, cpu=WRK_CPU)
        result = run_wrk(url, script, duration_seconds=MEASURE_SECONDS, cpu=WRK_CPU)

    if result.status_errors:
        raise BenchError(
            f"{target.name}: {result.status_errors} of {result.requests} responses had an HTTP "
            f"error status; see {BENCH_DIRECTORY / target.log_name}"
        )
    print(format_measurement(target.name, result), flush=True)
    return Measurement(target, result)


def _signed_requests(paths: Sequence[str], key: AccessKeyPair, port: int) -> list[Request]:
    # wrk sends the Host header `127.0.0.1:PORT` for a URL with a port, and the signature covers
    # it. The requests are signed now, seconds before the load, so their x-jdcloud-date stays
    # well inside the server's 15-minute clock window for the whole run.
    return sign_requests(paths, key, f"127.0.0.1:{port}")


def _remove_database(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)


def _interrupt(_signal_number: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `with running_server(...)` stops its server, and
    # `with running_postgres(...)` stops PostgreSQL.
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
