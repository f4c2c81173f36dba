"""Per-key throttling: the in-process and Redis-backed limiters, and a server that applies them."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cocvm.errors import RateLimitExceeded
from cocvm.gateway.rate_limit import InProcessRateLimiter, RateLimiter, create_rate_limiter
from cocvm.signing import ALGORITHM_V2, ALGORITHM_V3, sign_request_parts
from conftest import Credentials, Response, RunningServer, free_port, http_request, start_server
from services import RedisServer

PUBLIC = "/v1/regions/cn-north-1/images?imageSource=public&pageSize=10"
# Signed as JD Cloud's Python SDK signs (nonce not signed), and as its Go SDK signs (nonce signed).
NONCE_UNSIGNED_HEADERS = ("content-type", "host")
NONCE_SIGNED_HEADERS = ("content-type", "host", "x-jdcloud-date", "x-jdcloud-nonce")


class FakeClock:
    """A wall clock that moves only when a test advances it, starting 10 s into a minute."""

    def __init__(self) -> None:
        self.now = 60.0 * 1000 + 10

    def __call__(self) -> float:
        return self.now


def check(limiter: RateLimiter, identity: str = "ak:one") -> int | None:
    """Count one request and return None when it is allowed, else its Retry-After in seconds."""
    try:
        asyncio.run(limiter.check(identity))
    except RateLimitExceeded as error:
        return error.retry_after
    return None


async def check_in_order(calls: list[tuple[RateLimiter, str]]) -> list[int | None]:
    """Count one request per (limiter, identity) in turn, then close the limiters.

    Returns what `check` returns for each call. One event loop runs them all, because a Redis
    client's connections belong to the loop that opened them.
    """
    outcomes: list[int | None] = []
    try:
        for limiter, identity in calls:
            try:
                await limiter.check(identity)
            except RateLimitExceeded as error:
                outcomes.append(error.retry_after)
            else:
                outcomes.append(None)
    finally:
        for limiter in {id(limiter): limiter for limiter, _ in calls}.values():
            await limiter.close()
    return outcomes


def test_in_process_second_window_full() -> None:
    limiter = InProcessRateLimiter(per_second=3, per_minute=0, clock=FakeClock())

    outcomes = [check(limiter) for _ in range(4)]

    assert outcomes == [None, None, None, 1]


def test_in_process_second_window_resets() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(per_second=3, per_minute=0, clock=clock)
    for _ in range(4):
        check(limiter)

    clock.now += 1

    assert check(limiter) is None


def test_in_process_second_window_is_clock_aligned() -> None:
    clock = FakeClock()
    clock.now += 0.9
    limiter = InProcessRateLimiter(per_second=1, per_minute=0, clock=clock)
    check(limiter)

    clock.now += 0.2

    assert check(limiter) is None


def test_in_process_minute_window_full() -> None:
    limiter = InProcessRateLimiter(per_second=0, per_minute=5, clock=FakeClock())

    outcomes = [check(limiter) for _ in range(6)]

    # The clock is 10 s into its minute, so the window ends 50 s later.
    assert outcomes == [None] * 5 + [50]


def test_in_process_minute_retry_after_rounds_up() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(per_second=0, per_minute=1, clock=clock)
    check(limiter)

    clock.now += 49.5
    retry_after = check(limiter)

    assert retry_after == 1


def test_in_process_minute_window_resets() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(per_second=0, per_minute=2, clock=clock)
    for _ in range(3):
        check(limiter)

    clock.now += 50

    assert check(limiter) is None


def test_in_process_both_windows_apply() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(per_second=2, per_minute=3, clock=clock)

    first_second = [check(limiter) for _ in range(3)]
    clock.now += 1
    second_second = [check(limiter) for _ in range(2)]

    assert first_second == [None, None, 1]
    # The request the second window rejected did not count against the minute's three.
    assert second_second == [None, 49]


def test_in_process_zero_turns_window_off() -> None:
    limiter = InProcessRateLimiter(per_second=0, per_minute=0, clock=FakeClock())

    outcomes = [check(limiter) for _ in range(1000)]

    assert outcomes == [None] * 1000


def test_in_process_zero_second_keeps_minute() -> None:
    limiter = InProcessRateLimiter(per_second=0, per_minute=100, clock=FakeClock())

    outcomes = [check(limiter) for _ in range(101)]

    assert outcomes[:100] == [None] * 100
    assert outcomes[100] == 50


def test_in_process_identities_independent() -> None:
    limiter = InProcessRateLimiter(per_second=1, per_minute=0, clock=FakeClock())
    check(limiter, "ak:one")

    assert check(limiter, "ak:one") == 1
    assert check(limiter, "ak:two") is None


def test_in_process_old_identities_forgotten() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(per_second=5, per_minute=0, clock=clock, max_identities=2)
    for identity in ("ak:a", "ak:b", "ak:c"):
        check(limiter, identity)

    clock.now += 1
    check(limiter, "ak:d")

    assert set(limiter._counts) == {("ak:d", 1)}


def test_in_process_current_identities_kept() -> None:
    limiter = InProcessRateLimiter(per_second=1, per_minute=0, clock=FakeClock(), max_identities=2)
    check(limiter, "ak:throttled")

    for number in range(10):
        check(limiter, f"ak:flood-{number}")

    assert check(limiter, "ak:throttled") == 1


def count_sweeps(limiter: InProcessRateLimiter, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the time of every sweep for finished windows that `limiter` makes from now on."""
    sweeps: list[float] = []
    sweep = limiter._forget_old_windows

    def counting_sweep(now: float) -> None:
        sweeps.append(now)
        sweep(now)

    monkeypatch.setattr(limiter, "_forget_old_windows", counting_sweep)
    return sweeps


def test_in_process_full_table_swept_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(per_second=5, per_minute=0, clock=clock, max_identities=2)
    sweeps = count_sweeps(limiter, monkeypatch)

    for number in range(100):
        check(limiter, f"ak:{number}")
        clock.now += 0.001

    # 100 identities in one second: nothing can be forgotten, so one sweep is enough.
    assert len(sweeps) == 1


def test_in_process_max_identities_counts_identities(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = InProcessRateLimiter(per_second=5, per_minute=5, clock=FakeClock(), max_identities=2)
    sweeps = count_sweeps(limiter, monkeypatch)

    check(limiter, "ak:a")
    check(limiter, "ak:b")
    sweeps_for_two = len(sweeps)
    check(limiter, "ak:c")

    # Two identities with two windows each are within a maximum of two identities; three are not.
    assert sweeps_for_two == 0
    assert len(sweeps) == 1


@pytest.mark.redis
def test_redis_second_window_full(redis_url: str) -> None:
    limiter = create_rate_limiter(redis_url, per_second=3, per_minute=0)

    outcomes = asyncio.run(check_in_order([(limiter, "ak:one")] * 4))

    assert outcomes == [None, None, None, 1]


@pytest.mark.redis
def test_redis_minute_window_full(redis_url: str) -> None:
    limiter = create_rate_limiter(redis_url, per_second=0, per_minute=5)

    outcomes = asyncio.run(check_in_order([(limiter, "ak:one")] * 6))
    retry_after = outcomes[5]

    assert outcomes[:5] == [None] * 5
    assert retry_after is not None
    assert 1 <= retry_after <= 60


@pytest.mark.redis
def test_redis_counts_shared_by_limiters(redis_url: str) -> None:
    first = create_rate_limiter(redis_url, per_second=0, per_minute=4)
    second = create_rate_limiter(redis_url, per_second=0, per_minute=4)

    calls = [(first, "ak:one"), (second, "ak:one")] * 2 + [(first, "ak:one")]

    outcomes = asyncio.run(check_in_order(calls))

    assert outcomes[:4] == [None] * 4
    assert outcomes[4] is not None


@pytest.mark.redis
def test_redis_identities_independent(redis_url: str) -> None:
    limiter = create_rate_limiter(redis_url, per_second=0, per_minute=1)

    outcomes = asyncio.run(
        check_in_order([(limiter, "ak:one"), (limiter, "ak:one"), (limiter, "ak:two")])
    )

    assert outcomes[0] is None
    assert outcomes[1] is not None
    assert outcomes[2] is None


def test_redis_unreachable_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    limiter = create_rate_limiter(f"redis://127.0.0.1:{free_port()}/0", per_second=1, per_minute=1)

    with caplog.at_level(logging.WARNING, logger="cocvm.gateway.rate_limit"):
        outcomes = asyncio.run(check_in_order([(limiter, "ak:one")] * 3))

    warnings = [record.getMessage() for record in caplog.records]
    assert outcomes == [None, None, None]
    assert len(warnings) == 1
    assert "letting requests through" in warnings[0]


def test_redis_unresponsive_fails_open_in_time() -> None:
    # A socket that accepts connections and never replies, like a Redis that hangs.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        limiter = create_rate_limiter(f"redis://127.0.0.1:{port}/0", per_second=0, per_minute=1)

        started = time.monotonic()
        outcomes = asyncio.run(check_in_order([(limiter, "ak:one")]))
        seconds = time.monotonic() - started

    assert outcomes == [None]
    assert seconds < 3


# --- A real server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_per_second(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server over SQLite that allows each key three requests per second."""
    server = start_server(
        tmp_path_factory.mktemp("three-per-second"), "--rate-limit-per-second", "3"
    )
    yield server
    server.stop()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server for one test, which it may stop without harming other tests."""
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def send(
    server: RunningServer,
    *,
    credentials: Credentials | None = None,
    nonce_signed: bool = False,
) -> Response:
    """Send a describeImages request signed as one of JD Cloud's SDKs signs it.

    With `nonce_signed` it is signed as the Go SDK does (JDCLOUD2, nonce signed), else as the Python
    SDK does (JDCLOUD3, nonce not signed).
    """
    credentials = credentials or server.credentials
    path, _, query = PUBLIC.partition("?")
    headers = sign_request_parts(
        "GET",
        server.endpoint,
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
        signed_header_names=NONCE_SIGNED_HEADERS if nonce_signed else NONCE_UNSIGNED_HEADERS,
    )
    return http_request(server.host, server.port, "GET", PUBLIC, headers)


def get_unsigned(server: RunningServer, path: str) -> Response:
    return http_request(server.host, server.port, "GET", path, {})


def redis_errors(server: RunningServer) -> float:
    """Return the server's cocvm_redis_errors_total counter."""
    text = get_unsigned(server, "/metrics").body.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cocvm_redis_errors_total":
                return float(sample.value)
    raise AssertionError("cocvm_redis_errors_total is missing from /metrics")


def wait_for_next_second() -> None:
    """Sleep until just after the next whole second of the wall clock, where windows start."""
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.01)


def poll(request: Callable[[], Response], expected_status: int, timeout: float) -> Response:
    """Repeat `request` until it returns `expected_status` or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        reply = request()
        if reply.status == expected_status or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def assert_rate_limited(reply: Response) -> None:
    """The reply is JD Cloud's 429 envelope with a Retry-After of whole seconds."""
    body: dict[str, Any] = reply.json()
    assert reply.status == 429
    assert body["error"] == {
        "code": 429,
        "status": "HTTP_RATE_LIMIT_EXCEEDED",
        "message": "minute rate limit exceeded, role:ak",
    }
    assert body["requestId"] == reply.headers["x-jdcloud-request-id"]
    assert reply.headers["retry-after"].isdigit()


def test_server_fourth_request_in_second_limited(three_per_second: RunningServer) -> None:
    server = three_per_second
    other = server.add_key("other")

    wait_for_next_second()
    replies = [send(server) for _ in range(4)]
    other_reply = send(server, credentials=other)

    assert [reply.status for reply in replies[:3]] == [200, 200, 200]
    assert_rate_limited(replies[3])
    assert replies[3].headers["retry-after"] == "1"
    assert other_reply.status == 200


def test_server_limit_resets_next_second(three_per_second: RunningServer) -> None:
    server = three_per_second

    wait_for_next_second()
    limited = [send(server) for _ in range(4)][-1]
    wait_for_next_second()
    reply = send(server)

    assert limited.status == 429
    assert reply.status == 200


@pytest.fixture
def redis_backed(own_redis: RedisServer, tmp_path: Path) -> Iterator[RunningServer]:
    """A server that keeps limits and nonces in `own_redis`, five requests per key a minute."""
    limits = ("--rate-limit-per-second", "0", "--rate-limit-per-minute", "5")
    server = start_server(tmp_path, "--redis", own_redis.url, *limits)
    yield server
    server.stop()


@pytest.mark.redis
def test_server_survives_redis_outage(own_redis: RedisServer, redis_backed: RunningServer) -> None:
    server = redis_backed
    assert send(server, nonce_signed=True).status == 200
    errors_before = redis_errors(server)

    own_redis.stop()
    unsigned_nonce_replies = [send(server) for _ in range(7)]
    signed_nonce_reply = send(server, nonce_signed=True)
    readiness = get_unsigned(server, "/readyz")

    # Limits fail open: seven requests pass a limit of five per minute.
    assert [reply.status for reply in unsigned_nonce_replies] == [200] * 7
    assert any(
        "Rate limit storage unavailable, letting requests through" in line
        for line in server.log_lines()
    )
    assert signed_nonce_reply.status == 500
    assert signed_nonce_reply.json()["error"] == {
        "code": 500,
        "status": "UNKNOWN",
        "message": "Unknown server error",
    }
    assert readiness.status == 503
    assert readiness.json() == {"status": "unavailable", "store": "ok", "redis": "unreachable"}
    assert redis_errors(server) - errors_before == 1

    own_redis.start()
    recovered = poll(lambda: send(server, nonce_signed=True), 200, timeout=10)
    ready_again = get_unsigned(server, "/readyz")
    # Redis lost its counts, so the recovered request was the first of a new minute.
    after_recovery = [send(server) for _ in range(5)]

    assert recovered.status == 200
    assert ready_again.status == 200
    assert ready_again.json() == {"status": "ok", "store": "ok", "redis": "ok"}
    assert [reply.status for reply in after_recovery[:4]] == [200] * 4
    assert_rate_limited(after_recovery[4])
