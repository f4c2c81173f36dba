"""The operations endpoints /healthz, /readyz and /metrics, served without a signature."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from conftest import UNLIMITED, Response, RunningServer, http_request, start_server

PUBLIC = "/v1/regions/cn-north-1/images?imageSource=public&pageSize=10"
DESCRIBE_IMAGES = {"route": "describeImages"}

# (sample name, sorted label pairs) -> value
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def unsigned(server: RunningServer, path: str, method: str = "GET") -> Response:
    return http_request(server.host, server.port, method, path, {})


def parse_metrics(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape(server: RunningServer) -> Samples:
    reply = unsigned(server, "/metrics")
    assert reply.status == 200, reply.body
    return parse_metrics(reply.body.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return a sample's value, or 0 for a labelled sample not observed yet."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def requests_total(samples: Samples, status: int, route: str = "describeImages") -> float:
    return value(samples, "cocvm_requests_total", route=route, status=str(status))


def test_healthz_unsigned_ok(coc_vm_server: RunningServer) -> None:
    reply = unsigned(coc_vm_server, "/healthz")

    assert reply.status == 200
    assert reply.json() == {"status": "ok"}
    assert reply.headers["content-type"] == "application/json"


def test_healthz_head_has_no_body(coc_vm_server: RunningServer) -> None:
    reply = unsigned(coc_vm_server, "/healthz", method="HEAD")

    assert reply.status == 200
    assert reply.body == b""


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operations_post_not_allowed(coc_vm_server: RunningServer, path: str) -> None:
    reply = unsigned(coc_vm_server, path, method="POST")
    afterwards = unsigned(coc_vm_server, "/healthz")

    assert reply.status == 405
    assert reply.headers["allow"] in ("GET, HEAD", "HEAD, GET")
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"status": "error", "message": "Method Not Allowed"}
    assert afterwards.status == 200


def test_readyz_store_ok(coc_vm_server: RunningServer) -> None:
    reply = unsigned(coc_vm_server, "/readyz")

    assert reply.status == 200
    assert reply.json() == {"status": "ok", "store": "ok"}


def test_metrics_is_prometheus_text(coc_vm_server: RunningServer) -> None:
    reply = unsigned(coc_vm_server, "/metrics")

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert "# TYPE cocvm_requests_total counter" in reply.body.decode()
    assert "# TYPE cocvm_request_duration_seconds histogram" in reply.body.decode()


def test_metrics_count_requests(coc_vm_server: RunningServer) -> None:
    before = scrape(coc_vm_server)

    accepted = [coc_vm_server.get(PUBLIC) for _ in range(3)]
    rejected = [unsigned(coc_vm_server, PUBLIC) for _ in range(2)]
    no_route = unsigned(coc_vm_server, "/v1/regions/cn-north-1/disks")
    after = scrape(coc_vm_server)

    assert [reply.status for reply in accepted] == [200] * 3
    assert [reply.status for reply in rejected] == [401] * 2
    assert no_route.status == 404
    assert requests_total(after, 200) - requests_total(before, 200) == 3
    assert requests_total(after, 401) - requests_total(before, 401) == 2
    assert (
        requests_total(after, 404, route="unknown") - requests_total(before, 404, route="unknown")
        == 1
    )


def test_metrics_latency_histogram(coc_vm_server: RunningServer) -> None:
    before = scrape(coc_vm_server)

    for _ in range(4):
        coc_vm_server.get(PUBLIC)
    after = scrape(coc_vm_server)

    count = "cocvm_request_duration_seconds_count"
    bucket = "cocvm_request_duration_seconds_bucket"
    assert value(after, count, **DESCRIBE_IMAGES) - value(before, count, **DESCRIBE_IMAGES) == 4
    assert (
        value(after, bucket, le="+Inf", **DESCRIBE_IMAGES)
        - value(before, bucket, le="+Inf", **DESCRIBE_IMAGES)
        == 4
    )
    assert value(after, "cocvm_request_duration_seconds_sum", **DESCRIBE_IMAGES) > 0


def test_metrics_operations_not_counted(coc_vm_server: RunningServer) -> None:
    before = scrape(coc_vm_server)

    unsigned(coc_vm_server, "/healthz")
    unsigned(coc_vm_server, "/readyz")
    after = scrape(coc_vm_server)

    totals = {key: sample for key, sample in after.items() if key[0] == "cocvm_requests_total"}
    assert totals == {key: before.get(key, 0.0) for key in totals}


def test_metrics_store_errors_exported(coc_vm_server: RunningServer) -> None:
    samples = scrape(coc_vm_server)

    assert ("cocvm_store_errors_total", ()) in samples
    assert ("cocvm_redis_errors_total", ()) in samples


# --- Several worker processes -------------------------------------------------------------------


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[RunningServer]:
    """A server with two worker processes, both started."""
    server = start_server(tmp_path, "--workers", "2", *UNLIMITED)
    try:
        deadline = time.monotonic() + 30
        while server.log_path.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, "the second worker did not start in 30 s"
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def metrics_folder(server: RunningServer) -> Path:
    """Return the PROMETHEUS_MULTIPROC_DIR that `cocvm serve` gave its workers (Linux /proc)."""
    pid = server.process.pid
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        for entry in Path(f"/proc/{child}/environ").read_bytes().split(b"\0"):
            name, _, folder = entry.partition(b"=")
            if name == b"PROMETHEUS_MULTIPROC_DIR":
                return Path(folder.decode())
    raise AssertionError(f"no child of process {pid} has PROMETHEUS_MULTIPROC_DIR")


def requests_by_worker(server: RunningServer, work_dir: Path) -> list[float]:
    """Return how many requests each worker counted, read from each worker's own counter file."""
    counts = []
    for counter_file in sorted(metrics_folder(server).glob("counter_*.db")):
        single_worker = work_dir / counter_file.stem
        single_worker.mkdir()
        shutil.copy(counter_file, single_worker)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(single_worker))  # type: ignore[no-untyped-call]
        samples = registry.collect()
        counts.append(
            sum(
                sample.value
                for family in samples
                for sample in family.samples
                if sample.name == "cocvm_requests_total"
            )
        )
    return counts


def test_metrics_add_up_workers(two_workers: RunningServer, tmp_path: Path) -> None:
    request_count = 40

    # Concurrent connections, so that both workers accept some of them.
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda _: two_workers.get(PUBLIC), range(request_count)))
    totals = [requests_total(scrape(two_workers), 200) for _ in range(6)]
    by_worker = requests_by_worker(two_workers, tmp_path)

    assert [reply.status for reply in replies] == [200] * request_count
    assert len(by_worker) == 2
    assert all(count > 0 for count in by_worker), by_worker
    assert totals == [request_count] * 6
