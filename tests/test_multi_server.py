"""Two `cocvm serve` processes over one PostgreSQL database and one Redis, behind a balancer.

Requests go to each server with the same Host header, the balancer's, as they would in production,
so a request signed for one server is valid at the other.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cocvm.signing import ALGORITHM_V2, ALGORITHM_V3, sign_request_parts
from conftest import Credentials, Response, RunningServer, run_cocvm, start_server
from conftest import add_key as add_key_to_database
from services import PostgresServer, RedisServer, fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BALANCER_HOST = "images.cocvm.internal"
IMAGES = "/v1/regions/cn-north-1/images"
PUBLIC = f"{IMAGES}?imageSource=public&pageSize=10"
REQUESTS_PER_MINUTE = 10
# Signed as JD Cloud's Go SDK signs, nonce included, so the nonce is checked against replays.
NONCE_SIGNED_HEADERS = ("content-type", "host", "x-jdcloud-date", "x-jdcloud-nonce")


@dataclass(frozen=True)
class Cluster:
    """Two servers sharing a database, a Redis and a server key."""

    first: RunningServer
    second: RunningServer

    @property
    def database_url(self) -> str:
        return self.first.database_url

    @property
    def environment(self) -> dict[str, str]:
        return self.first.environment


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer, redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two servers that allow each key ten requests a minute, counted in the shared Redis.

    Each test uses keys of its own, so the tests do not share a rate limit.
    """
    # One folder, so both servers read the same server key file.
    work_dir = tmp_path_factory.mktemp("cluster")
    arguments = (
        "--redis",
        redis.url,
        "--rate-limit-per-second",
        "0",
        "--rate-limit-per-minute",
        str(REQUESTS_PER_MINUTE),
    )
    with fresh_database(postgres) as database_url:
        first = start_server(work_dir, *arguments, database_url=database_url)
        try:
            second = start_server(work_dir, *arguments, database_url=database_url)
        except BaseException:
            first.stop()
            raise
        try:
            yield Cluster(first, second)
        finally:
            first.stop()
            second.stop()


def add_key(cluster: Cluster, pin: str) -> Credentials:
    """Create an access key in the shared database, as `cocvm keys create` does."""
    return add_key_to_database(cluster.database_url, cluster.environment, pin)


def sign(
    credentials: Credentials, target: str = PUBLIC, *, nonce_signed: bool = False
) -> dict[str, str]:
    """Return the headers of a request for the balancer's host, signed as an SDK signs it."""
    path, _, query = target.partition("?")
    return sign_request_parts(
        "GET",
        BALANCER_HOST,
        path,
        query,
        {"Content-Type": "application/json"},
        b"",
        credentials.access_key,
        credentials.secret_key,
        "cn-north-1",
        "vm",
        algorithm=ALGORITHM_V2 if nonce_signed else ALGORITHM_V3,
        timestamp=datetime.now(UTC),
        nonce=str(uuid.uuid4()),
        signed_header_names=NONCE_SIGNED_HEADERS if nonce_signed else ("content-type", "host"),
    )


def send(server: RunningServer, headers: dict[str, str], target: str = PUBLIC) -> Response:
    """Send a GET to `server` with the balancer's Host header, as the balancer forwards it."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", target, headers={"Host": BALANCER_HOST, **headers})
        reply = connection.getresponse()
        body = reply.read()
    finally:
        connection.close()
    headers_read = {name.lower(): value for name, value in reply.getheaders()}
    return Response(reply.status, headers_read, body)


def get(server: RunningServer, credentials: Credentials, target: str = PUBLIC) -> Response:
    return send(server, sign(credentials, target), target)


def error_of(reply: Response) -> dict[str, Any]:
    error: dict[str, Any] = reply.json()["error"]
    return error


def test_cluster_import_seen_by_both(cluster: Cluster, tmp_path: Path) -> None:
    credentials = add_key(cluster, "importer")
    image_id = f"img-{uuid.uuid4().hex[:12]}"
    target = f"{IMAGES}?ids.1={image_id}"
    record = {
        "regionId": "cn-north-1",
        "imageId": image_id,
        "name": "Imported while serving",
        "platform": "Ubuntu",
        "architecture": "x86_64",
        "osType": "linux",
        "imageSource": "public",
        "ownerPin": "admin",
        "createTime": "2024-06-01 08:00:00",
    }
    record_file = tmp_path / "images.json"
    record_file.write_text(json.dumps([record]), encoding="utf-8")
    before = [get(server, credentials, target) for server in (cluster.first, cluster.second)]

    imported = run_cocvm(
        "images",
        "import",
        str(record_file),
        "--database",
        cluster.database_url,
        env=cluster.environment,
    )
    after = [get(server, credentials, target) for server in (cluster.first, cluster.second)]

    assert imported.returncode == 0, imported.stderr.decode()
    assert [reply.json()["result"]["totalCount"] for reply in before] == [0, 0]
    for reply in after:
        images = reply.json()["result"]["images"]
        assert [image["imageId"] for image in images] == [image_id]


def test_cluster_disabled_key_rejected_by_both(cluster: Cluster) -> None:
    credentials = add_key(cluster, "switcher")
    servers = (cluster.first, cluster.second)
    before = [get(server, credentials) for server in servers]

    disabled = run_cocvm(
        "keys",
        "disable",
        credentials.access_key,
        "--database",
        cluster.database_url,
        env=cluster.environment,
    )
    while_disabled = [get(server, credentials) for server in servers]
    enabled = run_cocvm(
        "keys",
        "enable",
        credentials.access_key,
        "--database",
        cluster.database_url,
        env=cluster.environment,
    )
    after = [get(server, credentials) for server in servers]

    assert disabled.returncode == 0, disabled.stderr.decode()
    assert enabled.returncode == 0, enabled.stderr.decode()
    assert [reply.status for reply in before] == [200, 200]
    for reply in while_disabled:
        assert reply.status == 401
        assert error_of(reply) == {
            "code": 401,
            "status": "ACCESS_ERROR",
            "message": "Invalid accessKey",
        }
    assert [reply.status for reply in after] == [200, 200]


def test_cluster_rate_limit_counts_both(cluster: Cluster) -> None:
    credentials = add_key(cluster, "busy")
    half = REQUESTS_PER_MINUTE // 2

    allowed = [get(cluster.first, credentials) for _ in range(half)]
    allowed += [get(cluster.second, credentials) for _ in range(half)]
    limited = [get(cluster.first, credentials), get(cluster.second, credentials)]

    assert [reply.status for reply in allowed] == [200] * REQUESTS_PER_MINUTE
    for reply in limited:
        assert reply.status == 429
        assert error_of(reply) == {
            "code": 429,
            "status": "HTTP_RATE_LIMIT_EXCEEDED",
            "message": "minute rate limit exceeded, role:ak",
        }
        assert reply.headers["retry-after"].isdigit()
        assert 1 <= int(reply.headers["retry-after"]) <= 60


def test_cluster_replay_rejected_by_other(cluster: Cluster) -> None:
    credentials = add_key(cluster, "replayed")
    headers = sign(credentials, nonce_signed=True)

    original = send(cluster.first, headers)
    replayed = send(cluster.second, headers)

    nonce = headers["x-jdcloud-nonce"]
    assert original.status == 200
    assert replayed.status == 401
    assert error_of(replayed) == {
        "code": 401,
        "status": "ACCESS_ERROR",
        "message": f"the request was replayed: x-jdcloud-nonce '{nonce}' was already used",
    }


def test_cluster_unsigned_nonce_accepted_by_both(cluster: Cluster) -> None:
    credentials = add_key(cluster, "python-sdk")
    headers = sign(credentials)

    replies = [send(server, headers) for server in (cluster.first, cluster.second)]

    assert [reply.status for reply in replies] == [200, 200]
