import re
from typing import Any

import pytest

from conftest import Response, RunningServer, http_request

IMAGES = "/v1/regions/cn-north-1/images"
REQUEST_ID = re.compile(r"[0-9a-z]{32}")
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# Maximum request line length the gateway accepts, in bytes: "GET " + target + " HTTP/1.1".
MAX_REQUEST_LINE = 8192
REQUEST_LINE_OVERHEAD = len("GET ") + len(" HTTP/1.1")

SOURCE_CHOICES = "public, private, shared, thirdparty, community"
NO_ROUTE = "no route and no API found with those values"
NOT_SHARED = (
    "Shared images are not supported: imageSource must be one of "
    "public, private, thirdparty, community"
)

PROFILES = pytest.mark.parametrize("profile", ["coc-vm", "vm"])


@pytest.fixture
def server(profile: str, coc_vm_server: RunningServer, vm_server: RunningServer) -> RunningServer:
    """The session's server of the test's profile."""
    return coc_vm_server if profile == "coc-vm" else vm_server


def ids_query(count: int, name: str = "ids") -> str:
    return "&".join(f"{name}.{number}=img-{number}" for number in range(1, count + 1))


def target_of_length(request_line_length: int) -> str:
    """Return a describeImages target whose GET request line is exactly this many bytes."""
    prefix = f"{IMAGES}?imageSource=public&padding="
    return prefix + "x" * (request_line_length - REQUEST_LINE_OVERHEAD - len(prefix))


def body_of(reply: Response) -> dict[str, Any]:
    body: dict[str, Any] = reply.json()
    return body


def assert_envelope(reply: Response) -> dict[str, Any]:
    """Check what every JSON reply carries, and return its body."""
    body = body_of(reply)

    assert reply.headers["content-type"] == JSON_CONTENT_TYPE
    assert REQUEST_ID.fullmatch(body["requestId"]), body["requestId"]
    assert reply.headers["x-jdcloud-request-id"] == body["requestId"]
    return body


def assert_error(reply: Response, http_status: int, status: str, message: str) -> None:
    body = assert_envelope(reply)

    assert reply.status == http_status
    assert type(body["error"]["code"]) is int
    assert body["error"]["code"] == http_status
    assert body["error"]["status"] == status
    assert body["error"]["message"] == message
    assert "result" not in body


def invalid(target: str, message: str) -> Any:
    return pytest.param(target, 400, "INVALID_ARGUMENT", message, id=target[len(IMAGES) :])


def out_of_range(target: str, message: str) -> Any:
    return pytest.param(target, 400, "OUT_OF_RANGE", message, id=target[len(IMAGES) :])


def source_missing(target: str) -> Any:
    return pytest.param(
        target,
        400,
        "FAILED_PRECONDITION",
        "Parameter ImageSource missing",
        id=target[len(IMAGES) :] or "no-query",
    )


def no_route(target: str) -> Any:
    return pytest.param(target, 404, "NOT_FOUND", NO_ROUTE, id=target)


ERRORS_IN_BOTH_PROFILES = [
    source_missing(IMAGES),
    source_missing(f"{IMAGES}?"),
    source_missing(f"{IMAGES}?imageSource="),
    source_missing(f"{IMAGES}?platform=CentOS&pageSize=10"),
    source_missing(f"{IMAGES}?ids.1="),
    invalid(
        f"{IMAGES}?imageSource=bogus",
        f"Invalid parameter imageSource: 'bogus' is not one of {SOURCE_CHOICES}",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&architecture=x86",
        "Invalid parameter architecture: 'x86' is not one of x86_64, arm64",
    ),
    out_of_range(f"{IMAGES}?imageSource=public&pageNumber=0", "PageNumber out of range"),
    out_of_range(f"{IMAGES}?imageSource=public&pageNumber=-1", "PageNumber out of range"),
    out_of_range(f"{IMAGES}?imageSource=public&pageNumber=2147483648", "PageNumber out of range"),
    invalid(
        f"{IMAGES}?imageSource=public&pageNumber=abc",
        "Invalid parameter pageNumber: 'abc' is not an integer",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&pageNumber=1.5",
        "Invalid parameter pageNumber: '1.5' is not an integer",
    ),
    out_of_range(f"{IMAGES}?imageSource=public&pageSize=9", "PageSize out of range"),
    out_of_range(f"{IMAGES}?imageSource=public&pageSize=101", "PageSize out of range"),
    invalid(
        f"{IMAGES}?imageSource=public&pageSize=abc",
        "Invalid parameter pageSize: 'abc' is not an integer",
    ),
    out_of_range(
        f"{IMAGES}?{ids_query(101)}", "Ids out of range: 101 ids given, at most 100 allowed"
    ),
    pytest.param(
        "/v1/regions/cn-north-9/images?imageSource=public",
        400,
        "INVALID_ARGUMENT",
        "Invalid region 'cn-north-9'",
        id="region-unknown",
    ),
    pytest.param(
        "/v1/regions/CN-NORTH-1/images?imageSource=public",
        400,
        "INVALID_ARGUMENT",
        "Invalid region 'CN-NORTH-1'",
        id="region-other-case",
    ),
    no_route("/"),
    no_route("/v1/regions/cn-north-1/images/"),
    no_route("/v1/regions/cn-north-1/images/?imageSource=public"),
    no_route("/v1/regions/cn-north-1/images/img-a"),
    no_route("/v1/regions/cn-north-1/Images?imageSource=public"),
    no_route("/v1/regions/cn-north-1/instances"),
    no_route("/v1/regions//images?imageSource=public"),
    no_route("/v1/regions/cn-north-1/x/images?imageSource=public"),
    no_route("/v2/regions/cn-north-1/images?imageSource=public"),
    no_route("/regions/cn-north-1/images?imageSource=public"),
    no_route("/healthz/"),
]

ERRORS_IN_VM = [
    invalid(
        f"{IMAGES}?imageSource=public&offline=yes",
        "Invalid parameter offline: 'yes' is not a boolean (true or false)",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&offline=1",
        "Invalid parameter offline: '1' is not a boolean (true or false)",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&status=deleted",
        "Invalid parameter status: 'deleted' is not one of pending, ready, deleting, error",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&status=bogus",
        "Invalid parameter status: 'bogus' is not one of pending, ready, deleting, error",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&rootDeviceType=localdisk",
        "Invalid parameter rootDeviceType: 'localdisk' is not one of localDisk, cloudDisk",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&bootMode=legacy",
        "Invalid parameter bootMode: 'legacy' is not one of bios, uefi",
    ),
    invalid(
        f"{IMAGES}?imageSource=private&launchPermission=everyone",
        "Invalid parameter launchPermission: 'everyone' is not one of "
        "all, specifiedUsers, ownerOnly",
    ),
    invalid(
        f"{IMAGES}?imageSource=public&launchPermission=ownerOnly",
        "Parameter launchPermission is only valid with imageSource 'private'",
    ),
    out_of_range(
        f"{IMAGES}?imageSource=public&{ids_query(101, 'instanceIds')}",
        "InstanceIds out of range: 101 ids given, at most 100 allowed",
    ),
]

VM_FILTER_FAULTS = (
    "offline=yes&status=deleted&rootDeviceType=localdisk&bootMode=legacy"
    f"&launchPermission=everyone&serviceCode=&{ids_query(101, 'instanceIds')}"
)


@PROFILES
@pytest.mark.parametrize(("target", "http_status", "status", "message"), ERRORS_IN_BOTH_PROFILES)
def test_errors_reply(
    server: RunningServer, target: str, http_status: int, status: str, message: str
) -> None:
    assert_error(server.get(target), http_status, status, message)


@pytest.mark.parametrize(("target", "http_status", "status", "message"), ERRORS_IN_VM)
def test_errors_vm_filter_values(
    vm_server: RunningServer, target: str, http_status: int, status: str, message: str
) -> None:
    assert_error(vm_server.get(target), http_status, status, message)


@pytest.mark.parametrize("source", ["shared", "SHARED"])
def test_errors_shared_coc_vm(coc_vm_server: RunningServer, source: str) -> None:
    reply = coc_vm_server.get(f"{IMAGES}?imageSource={source}")

    assert_error(reply, 400, "INVALID_ARGUMENT", NOT_SHARED)


def test_errors_shared_with_ids_coc_vm(coc_vm_server: RunningServer) -> None:
    reply = coc_vm_server.get(f"{IMAGES}?imageSource=shared&ids.1=img-a")

    assert_error(reply, 400, "INVALID_ARGUMENT", NOT_SHARED)


def test_errors_shared_served_vm(vm_server: RunningServer) -> None:
    reply = vm_server.get(f"{IMAGES}?imageSource=shared")

    assert reply.status == 200


def test_errors_vm_filter_values_ignored_coc_vm(coc_vm_server: RunningServer) -> None:
    reply = coc_vm_server.get(f"{IMAGES}?imageSource=public&{VM_FILTER_FAULTS}")

    assert reply.status == 200
    assert "error" not in body_of(reply)


@PROFILES
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_errors_wrong_method(server: RunningServer, method: str) -> None:
    reply = server.get(f"{IMAGES}?imageSource=public", method=method)

    assert_error(reply, 404, "NOT_FOUND", NO_ROUTE)


@PROFILES
def test_errors_post_with_body(server: RunningServer) -> None:
    reply = http_request(
        server.host,
        server.port,
        "POST",
        IMAGES,
        {"Content-Type": "application/json"},
        b'{"imageSource": "public"}',
    )

    assert_error(reply, 404, "NOT_FOUND", NO_ROUTE)


@PROFILES
def test_errors_head_not_served(server: RunningServer) -> None:
    reply = server.get(f"{IMAGES}?imageSource=public", method="HEAD")

    assert reply.status == 404
    assert reply.body == b""
    assert reply.headers["content-type"] == JSON_CONTENT_TYPE
    assert REQUEST_ID.fullmatch(reply.headers["x-jdcloud-request-id"])


@PROFILES
def test_errors_request_line_at_limit_served(server: RunningServer) -> None:
    target = target_of_length(MAX_REQUEST_LINE)

    reply = server.get(target)

    assert reply.status == 200


@PROFILES
def test_errors_request_line_over_limit(server: RunningServer) -> None:
    reply = server.get(target_of_length(MAX_REQUEST_LINE + 1))

    assert_error(reply, 414, "HTTP_URI_TOO_LONG", "URI too long")


@PROFILES
def test_errors_long_path(server: RunningServer) -> None:
    reply = server.get(f"/v1/regions/{'a' * MAX_REQUEST_LINE}/images?imageSource=public")

    assert_error(reply, 414, "HTTP_URI_TOO_LONG", "URI too long")


@PROFILES
def test_errors_long_request_line_wrong_method(server: RunningServer) -> None:
    reply = server.get(target_of_length(MAX_REQUEST_LINE + 100), method="DELETE")

    assert_error(reply, 414, "HTTP_URI_TOO_LONG", "URI too long")


def test_errors_request_line_over_64_kib(coc_vm_server: RunningServer) -> None:
    reply = coc_vm_server.get(target_of_length(70_000))

    assert_error(reply, 414, "HTTP_URI_TOO_LONG", "URI too long")


def test_errors_region_not_configured(server_factory: Any) -> None:
    eu_server = server_factory("--regions", "eu-west-1,eu-central-1")

    reply = eu_server.get(f"{IMAGES}?imageSource=public")

    assert_error(reply, 400, "INVALID_ARGUMENT", "Invalid region 'cn-north-1'")
    assert eu_server.get("/v1/regions/eu-central-1/images?imageSource=public").status == 200


@PROFILES
def test_errors_success_envelope(server: RunningServer) -> None:
    reply = server.get(f"{IMAGES}?imageSource=public")

    body = assert_envelope(reply)

    assert reply.status == 200
    assert "error" not in body
    assert set(body["result"]) == {"images", "totalCount"}
    assert type(body["result"]["totalCount"]) is int


@PROFILES
def test_errors_empty_result_envelope(server: RunningServer) -> None:
    reply = server.get(f"{IMAGES}?imageSource=public&platform=NoSuchSystem")

    body = assert_envelope(reply)

    assert reply.status == 200
    assert "error" not in body
    assert body["result"] == {"images": [], "totalCount": 0}


@PROFILES
def test_errors_request_ids_differ(server: RunningServer) -> None:
    replies = [server.get(f"{IMAGES}?imageSource=public&pageSize=10") for _ in range(3)]
    replies += [server.get(f"{IMAGES}?imageSource=bogus") for _ in range(3)]

    request_ids = {reply.headers["x-jdcloud-request-id"] for reply in replies}

    assert len(request_ids) == len(replies)
