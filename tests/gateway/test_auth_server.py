"""Signature checks and who sees what, against real `cocvm serve` processes."""

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update

from cocvm.images.catalog_file import import_records
from cocvm.images.record import ImageRecord
from cocvm.signing import ALGORITHM_V2, ALGORITHM_V3, parse_authorization, sign_request_parts
from cocvm.store.database import create_catalog_engine
from cocvm.store.keys import delete_access_key
from cocvm.store.schema import access_keys
from cocvm.store.secret_box import SecretBox
from conftest import (
    Credentials,
    Response,
    RunningServer,
    http_request,
    new_database_url,
    start_server,
)

IMAGES = "/v1/regions/cn-north-1/images"
PUBLIC = f"{IMAGES}?imageSource=public&pageSize=10"
PYTHON_SDK_SIGNED_HEADERS = ("content-type", "host")
GO_SDK_SIGNED_HEADERS = ("content-type", "host", "x-jdcloud-date", "x-jdcloud-nonce")
REQUEST_ID = re.compile(r"[0-9a-f]{32}")

# Signature values and secret keys used with each server, by port, for the check that none of
# them reaches the log.
SENT_SIGNATURES: dict[int, list[str]] = {}
SENT_SECRETS: dict[int, set[str]] = {}

StartServer = Callable[..., RunningServer]


def send(
    server: RunningServer,
    target: str = PUBLIC,
    *,
    credentials: Credentials | None = None,
    signed_target: str | None = None,
    signed_endpoint: str | None = None,
    algorithm: str = ALGORITHM_V3,
    timestamp: datetime | None = None,
    nonce: str | None = None,
    signed_header_names: Sequence[str] | None = PYTHON_SDK_SIGNED_HEADERS,
    headers: dict[str, str] | None = None,
    sent_headers: Callable[[dict[str, str]], dict[str, str]] | None = None,
) -> Response:
    """Sign a request for `signed_target` and send it to `target` on the server.

    The defaults sign as JD Cloud's Python SDK does (JDCLOUD3 over content-type;host) with the
    server's test key. `sent_headers` may change the signed headers before they are sent.
    """
    credentials = credentials or server.credentials
    path, _, query = (signed_target or target).partition("?")
    region = path.split("/")[3]
    signed = sign_request_parts(
        "GET",
        signed_endpoint or server.endpoint,
        path,
        query,
        {"Content-Type": "application/json", **(headers or {})},
        b"",
        credentials.access_key,
        credentials.secret_key,
        region,
        "vm",
        algorithm=algorithm,
        timestamp=timestamp,
        nonce=nonce,
        signed_header_names=signed_header_names,
    )
    SENT_SIGNATURES.setdefault(server.port, []).append(
        parse_authorization(signed["Authorization"]).signature
    )
    SENT_SECRETS.setdefault(server.port, set()).add(credentials.secret_key)
    if sent_headers is not None:
        signed = sent_headers(signed)
    return http_request(server.host, server.port, "GET", target, signed)


def unsigned(server: RunningServer, headers: dict[str, str], target: str = PUBLIC) -> Response:
    return http_request(server.host, server.port, "GET", target, headers)


def assert_access_error(reply: Response, message: str) -> None:
    """The reply is JD Cloud's 401 ACCESS_ERROR envelope with this message."""
    body = reply.json()
    assert reply.status == 401
    assert body["error"] == {"code": 401, "status": "ACCESS_ERROR", "message": message}
    assert REQUEST_ID.fullmatch(body["requestId"])
    assert reply.headers["x-jdcloud-request-id"] == body["requestId"]
    assert "result" not in body


def result_of(reply: Response) -> dict[str, Any]:
    assert reply.status == 200, reply.body
    result: dict[str, Any] = reply.json()["result"]
    return result


def image_ids(reply: Response) -> set[str]:
    return {image["imageId"] for image in result_of(reply)["images"]}


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() != name}


def random_credentials(access_key: str | None = None) -> Credentials:
    return Credentials(
        access_key or f"AK{uuid.uuid4().hex.upper()}", uuid.uuid4().hex.upper(), "unknown"
    )


def private_record(
    image_id: str,
    owner_pin: str,
    shared_with: Sequence[str] = (),
    create_time: str = "2024-05-01 10:00:00",
) -> dict[str, Any]:
    return {
        "regionId": "cn-north-1",
        "imageId": image_id,
        "name": f"{owner_pin} image {image_id}",
        "platform": "Ubuntu",
        "architecture": "x86_64",
        "osType": "linux",
        "imageSource": "private",
        "ownerPin": owner_pin,
        "createTime": create_time,
        "sharedWith": list(shared_with),
    }


def import_images(server: RunningServer, records: list[dict[str, Any]]) -> None:
    """Add images to a running server's catalog, as `cocvm images import` does."""
    engine = create_catalog_engine(server.database_url)
    try:
        import_records(engine, msgspec.convert(records, list[ImageRecord]))
    finally:
        engine.dispose()


def start_module_server(
    request: pytest.FixtureRequest,
    store: str,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *arguments: str,
) -> Iterator[RunningServer]:
    """Start a server on a new database of the store under test, and stop it afterwards."""
    work_dir = tmp_path_factory.mktemp(name)
    database_url = new_database_url(request, store, work_dir)
    server = start_server(work_dir, *arguments, database_url=database_url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict_server(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A strict coc-vm server that logs at DEBUG, so the log check reads everything it writes."""
    yield from start_module_server(
        request, store, tmp_path_factory, "auth-strict", "--log-level", "DEBUG"
    )


# --- Strict mode: every way a request can fail --------------------------------------------------


def test_strict_signed_request_accepted(strict_server: RunningServer) -> None:
    reply = send(strict_server)

    assert len(result_of(reply)["images"]) == 10


def test_strict_jdcloud2_request_accepted(strict_server: RunningServer) -> None:
    reply = send(strict_server, algorithm=ALGORITHM_V2, signed_header_names=GO_SDK_SIGNED_HEADERS)

    assert len(result_of(reply)["images"]) == 10


def test_strict_no_authorization(strict_server: RunningServer) -> None:
    reply = unsigned(strict_server, {"Content-Type": "application/json"})

    assert_access_error(reply, "lack of header authorization")


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (
            "garbage",
            "unsupported signing algorithm 'garbage' in the header authorization; "
            "expected JDCLOUD2-HMAC-SHA256 or JDCLOUD3-HMAC-SHA256",
        ),
        (
            "JDCLOUD3-HMAC-SHA256 SignedHeaders=content-type;host, Signature={signature}",
            "lack of credential in the header authorization",
        ),
        (
            "JDCLOUD3-HMAC-SHA256 Credential={credential}, Signature={signature}",
            "lack of header signedHeaders",
        ),
        (
            "JDCLOUD4-HMAC-SHA256 Credential={credential}, SignedHeaders=content-type;host, "
            "Signature={signature}",
            "unsupported signing algorithm 'JDCLOUD4-HMAC-SHA256' in the header authorization; "
            "expected JDCLOUD2-HMAC-SHA256 or JDCLOUD3-HMAC-SHA256",
        ),
    ],
    ids=["garbage", "no-credential", "no-signed-headers", "unknown-algorithm"],
)
def test_strict_malformed_authorization(
    strict_server: RunningServer, authorization: str, message: str
) -> None:
    def replace_authorization(headers: dict[str, str]) -> dict[str, str]:
        parsed = parse_authorization(headers["Authorization"])
        credential = f"{parsed.access_key}/{parsed.scope}"
        value = authorization.format(credential=credential, signature=parsed.signature)
        return {**headers, "Authorization": value}

    reply = send(strict_server, sent_headers=replace_authorization)

    assert_access_error(reply, message)


def test_strict_no_date_header(strict_server: RunningServer) -> None:
    reply = send(strict_server, sent_headers=lambda headers: without(headers, "x-jdcloud-date"))

    assert_access_error(reply, "lack of header x-jdcloud-date")


def test_strict_unknown_key_like_wrong_secret(strict_server: RunningServer) -> None:
    unknown_key = send(strict_server, credentials=random_credentials())
    wrong_secret = send(
        strict_server, credentials=random_credentials(strict_server.credentials.access_key)
    )

    unknown_body = unknown_key.json()
    wrong_body = wrong_secret.json()
    assert_access_error(unknown_key, "sign result is not same")
    assert_access_error(wrong_secret, "sign result is not same")
    assert unknown_body["requestId"] != wrong_body["requestId"]
    assert {**unknown_body, "requestId": ""} == {**wrong_body, "requestId": ""}
    assert (
        without(unknown_key.headers, "x-jdcloud-request-id").keys()
        == without(wrong_secret.headers, "x-jdcloud-request-id").keys()
    )


def test_key_changes_apply_to_next_request(server_factory: StartServer, database_url: str) -> None:
    server = server_factory(database_url=database_url)
    credentials = server.add_key("dora")
    assert send(server, credentials=credentials).status == 200

    disabled = server.cocvm("keys", "disable", credentials.access_key)
    assert disabled.returncode == 0, disabled.stderr.decode()
    assert_access_error(send(server, credentials=credentials), "Invalid accessKey")
    assert_access_error(
        send(server, credentials=random_credentials(credentials.access_key)),
        "sign result is not same",
    )

    enabled = server.cocvm("keys", "enable", credentials.access_key)
    assert enabled.returncode == 0, enabled.stderr.decode()
    assert send(server, credentials=credentials).status == 200

    deleted = server.cocvm("keys", "delete", credentials.access_key)
    assert deleted.returncode == 0, deleted.stderr.decode()
    assert_access_error(send(server, credentials=credentials), "sign result is not same")


def test_strict_path_region_changed(strict_server: RunningServer) -> None:
    reply = send(
        strict_server,
        "/v1/regions/cn-east-2/images?imageSource=public",
        signed_target=f"{IMAGES}?imageSource=public",
    )

    assert_access_error(
        reply,
        "the credential scope region 'cn-north-1' does not match the request region 'cn-east-2'",
    )


@pytest.mark.parametrize(
    "target",
    [
        f"{IMAGES}?imageSource=private",
        f"{IMAGES}?imageSource=public&pageSize=11",
        f"{IMAGES}?imageSource=public",
        f"{IMAGES}?imageSource=public&pageSize=10&pageNumber=2",
    ],
)
def test_strict_query_changed(strict_server: RunningServer, target: str) -> None:
    reply = send(strict_server, target, signed_target=f"{IMAGES}?imageSource=public&pageSize=10")

    assert_access_error(reply, "sign result is not same")


def test_strict_signed_header_changed(strict_server: RunningServer) -> None:
    reply = send(
        strict_server,
        sent_headers=lambda headers: {**headers, "Content-Type": "text/plain"},
    )

    assert_access_error(reply, "sign result is not same")


def test_strict_signed_date_changed(strict_server: RunningServer) -> None:
    def later_by_one_second(headers: dict[str, str]) -> dict[str, str]:
        sent = datetime.strptime(headers["x-jdcloud-date"], "%Y%m%dT%H%M%SZ")
        changed = sent - timedelta(seconds=1) if sent.second else sent + timedelta(seconds=1)
        return {**headers, "x-jdcloud-date": changed.strftime("%Y%m%dT%H%M%SZ")}

    reply = send(
        strict_server,
        algorithm=ALGORITHM_V2,
        signed_header_names=GO_SDK_SIGNED_HEADERS,
        sent_headers=later_by_one_second,
    )

    assert_access_error(reply, "sign result is not same")


def test_strict_host_changed(strict_server: RunningServer) -> None:
    # The server receives Host 127.0.0.1:PORT, but the client signed another host.
    reply = send(strict_server, signed_endpoint="127.0.0.1:1")

    assert_access_error(reply, "sign result is not same")


@pytest.mark.parametrize("offset", [timedelta(minutes=-16), timedelta(minutes=16)])
def test_strict_request_time_out_of_range(strict_server: RunningServer, offset: timedelta) -> None:
    request_time = datetime.now(UTC) + offset

    reply = send(strict_server, timestamp=request_time)

    assert_access_error(
        reply,
        f"the request time is out of range: x-jdcloud-date "
        f"'{request_time.strftime('%Y%m%dT%H%M%SZ')}' is more than 15 minutes "
        "from the server's clock",
    )


@pytest.mark.parametrize("offset", [timedelta(minutes=-14), timedelta(minutes=14)])
def test_strict_request_time_within_skew(strict_server: RunningServer, offset: timedelta) -> None:
    reply = send(strict_server, timestamp=datetime.now(UTC) + offset)

    assert reply.status == 200


def test_strict_signed_nonce_replayed(strict_server: RunningServer) -> None:
    nonce = str(uuid.uuid4())
    timestamp = datetime.now(UTC)

    def go_sdk_request() -> Response:
        return send(
            strict_server,
            algorithm=ALGORITHM_V2,
            signed_header_names=GO_SDK_SIGNED_HEADERS,
            timestamp=timestamp,
            nonce=nonce,
        )

    first = go_sdk_request()
    second = go_sdk_request()

    assert first.status == 200
    assert_access_error(
        second, f"the request was replayed: x-jdcloud-nonce '{nonce}' was already used"
    )


def test_strict_unsigned_nonce_repeats(strict_server: RunningServer) -> None:
    nonce = str(uuid.uuid4())
    timestamp = datetime.now(UTC)

    replies = [send(strict_server, timestamp=timestamp, nonce=nonce) for _ in range(3)]

    assert [reply.status for reply in replies] == [200, 200, 200]


def test_strict_undecryptable_secret(strict_server: RunningServer) -> None:
    # Simulate `cocvm keys create` run with another server key than the server's.
    credentials = strict_server.add_key("erin")
    other_box = SecretBox(Fernet.generate_key())
    engine = create_catalog_engine(strict_server.database_url)
    with engine.begin() as connection:
        connection.execute(
            update(access_keys)
            .where(access_keys.c.access_key == credentials.access_key)
            .values(secret_ciphertext=other_box.encrypt(credentials.secret_key))
        )
    engine.dispose()

    reply = send(strict_server, credentials=credentials)

    body = reply.json()
    log = strict_server.log_path.read_text(encoding="utf-8")
    assert reply.status == 500
    assert body["error"] == {"code": 500, "status": "INTERNAL", "message": "Internal server error"}
    assert f"Cannot check signatures of access key {credentials.access_key}" in log
    assert "cannot decrypt the access key secrets stored in this database" in log
    assert "Traceback" not in log
    engine = create_catalog_engine(strict_server.database_url)
    delete_access_key(engine, credentials.access_key)
    engine.dispose()


# --- Strict mode with a shorter clock-skew limit ------------------------------------------------


def test_strict_custom_clock_skew(server_factory: StartServer) -> None:
    server = server_factory("--max-clock-skew", "60")
    two_minutes_ago = datetime.now(UTC) - timedelta(minutes=2)

    late = send(server, timestamp=two_minutes_ago)
    recent = send(server, timestamp=datetime.now(UTC) - timedelta(seconds=30))

    assert_access_error(
        late,
        f"the request time is out of range: x-jdcloud-date "
        f"'{two_minutes_ago.strftime('%Y%m%dT%H%M%SZ')}' is more than 1 minute "
        "from the server's clock",
    )
    assert recent.status == 200


# --- Emulator and off modes ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator_server(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    yield from start_module_server(
        request, store, tmp_path_factory, "auth-emulator", "--auth", "emulator"
    )


def test_emulator_unsigned_rejected(emulator_server: RunningServer) -> None:
    reply = unsigned(emulator_server, {"Content-Type": "application/json"})

    assert_access_error(reply, "lack of header authorization")


def test_emulator_any_secret_accepted(emulator_server: RunningServer) -> None:
    reply = send(emulator_server, credentials=random_credentials())

    assert len(result_of(reply)["images"]) == 10


def test_emulator_known_key_wrong_secret(emulator_server: RunningServer) -> None:
    credentials = random_credentials(emulator_server.credentials.access_key)

    assert send(emulator_server, credentials=credentials).status == 200


def test_emulator_unknown_key_is_pin(emulator_server: RunningServer) -> None:
    tenant = random_credentials()
    other = random_credentials()
    import_images(
        emulator_server,
        [
            private_record("img-emutenant1", tenant.access_key),
            private_record("img-emutenant2", tenant.access_key),
            private_record("img-emuother1", other.access_key),
        ],
    )
    private = f"{IMAGES}?imageSource=private"

    assert image_ids(send(emulator_server, private, credentials=tenant)) == {
        "img-emutenant1",
        "img-emutenant2",
    }
    assert image_ids(send(emulator_server, private, credentials=other)) == {"img-emuother1"}
    assert image_ids(send(emulator_server, private, credentials=random_credentials())) == set()


def test_emulator_disabled_key_rejected(emulator_server: RunningServer) -> None:
    credentials = emulator_server.add_key("gina")
    disabled = emulator_server.cocvm("keys", "disable", credentials.access_key)
    assert disabled.returncode == 0, disabled.stderr.decode()

    reply = send(emulator_server, credentials=credentials)

    assert_access_error(reply, "Invalid accessKey")


def test_off_mode_lists_public_unsigned(server_factory: StartServer) -> None:
    server = server_factory("--auth", "off")
    import_images(server, [private_record("img-offprivate1", server.credentials.pin)])

    public = unsigned(server, {}, f"{IMAGES}?imageSource=public")
    private_unsigned = unsigned(server, {}, f"{IMAGES}?imageSource=private")
    private_signed = send(server, f"{IMAGES}?imageSource=private")
    by_id = unsigned(server, {}, f"{IMAGES}?ids.1=img-offprivate1")

    assert result_of(public)["totalCount"] > 0
    assert result_of(private_unsigned) == {"images": [], "totalCount": 0}
    assert result_of(private_signed) == {"images": [], "totalCount": 0}
    assert result_of(by_id) == {"images": [], "totalCount": 0}


# --- Who sees what ------------------------------------------------------------------------------

VISIBILITY_RECORDS = [
    private_record("img-alice1", "alice", ["bob"], "2024-05-03 10:00:00"),
    private_record("img-alice2", "alice", [], "2024-05-02 10:00:00"),
    private_record("img-alice3", "alice", ["bob", "carol"], "2024-05-01 10:00:00"),
    private_record("img-bob1", "bob"),
    private_record("img-bob2", "bob", ["alice"]),
    private_record("img-carol1", "carol", ["alice"]),
    {
        **private_record("img-carolcommunity", "carol"),
        "imageSource": "community",
        "name": "carol community image",
    },
]


class Tenants:
    """A server whose catalog contains the visibility records, and a key for each pin."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        import_images(server, VISIBILITY_RECORDS)
        self.keys = {pin: server.add_key(pin) for pin in ("alice", "bob", "dave")}
        reply = send(server, f"{IMAGES}?imageSource=public&pageSize=10")
        self.public_id: str = result_of(reply)["images"][0]["imageId"]

    def get(self, pin: str, query: str) -> Response:
        return send(self.server, f"{IMAGES}?{query}", credentials=self.keys[pin])


@pytest.fixture(scope="module")
def vm_tenants(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tenants]:
    servers = start_module_server(request, store, tmp_path_factory, "tenants-vm", "--profile", "vm")
    for server in servers:
        yield Tenants(server)


@pytest.fixture(scope="module")
def coc_vm_tenants(strict_server: RunningServer) -> Tenants:
    return Tenants(strict_server)


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("alice", ["img-alice1", "img-alice2", "img-alice3"]),
        ("bob", ["img-bob1", "img-bob2"]),
        ("dave", []),
    ],
)
@pytest.mark.parametrize("profile", ["vm", "coc-vm"])
def test_private_lists_own_images(
    vm_tenants: Tenants, coc_vm_tenants: Tenants, profile: str, pin: str, expected: list[str]
) -> None:
    tenants = vm_tenants if profile == "vm" else coc_vm_tenants

    result = result_of(tenants.get(pin, "imageSource=private"))

    assert [image["imageId"] for image in result["images"]] == expected
    assert result["totalCount"] == len(expected)
    assert {image["ownerPin"] for image in result["images"]} <= {pin}
    assert {image["imageSource"] for image in result["images"]} <= {"private"}


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("alice", {"img-bob2": "bob", "img-carol1": "carol"}),
        ("bob", {"img-alice1": "alice", "img-alice3": "alice"}),
        ("dave", {}),
    ],
)
def test_shared_lists_images_shared_with_caller(
    vm_tenants: Tenants, pin: str, expected: dict[str, str]
) -> None:
    result = result_of(vm_tenants.get(pin, "imageSource=shared"))

    owners = {image["imageId"]: image["ownerPin"] for image in result["images"]}
    assert owners == expected
    assert result["totalCount"] == len(expected)
    assert {image["imageSource"] for image in result["images"]} <= {"shared"}


def test_ids_return_only_visible_vm(vm_tenants: Tenants) -> None:
    requested = [
        "img-alice2",
        "img-bob1",
        "img-bob2",
        "img-carol1",
        "img-carolcommunity",
        vm_tenants.public_id,
        "img-nosuchimage",
    ]
    query = "&".join(f"ids.{index}={image_id}" for index, image_id in enumerate(requested, 1))

    result = result_of(vm_tenants.get("alice", query))

    sources = {image["imageId"]: image["imageSource"] for image in result["images"]}
    assert sources == {
        "img-alice2": "private",
        "img-bob2": "shared",
        "img-carol1": "shared",
        "img-carolcommunity": "community",
        vm_tenants.public_id: "public",
    }
    assert result["totalCount"] == 5


def test_ids_return_only_visible_coc_vm(coc_vm_tenants: Tenants) -> None:
    # The coc-vm API has no shared images, so images shared with the caller stay hidden too.
    query = "ids.1=img-alice2&ids.2=img-bob1&ids.3=img-bob2&ids.4=img-carolcommunity"

    result = result_of(coc_vm_tenants.get("alice", query))

    assert {image["imageId"] for image in result["images"]} == {"img-alice2", "img-carolcommunity"}
    assert result["totalCount"] == 2


def test_ids_of_others_private_only(vm_tenants: Tenants) -> None:
    result = result_of(vm_tenants.get("dave", "ids.1=img-alice2&ids.2=img-bob1"))

    assert result == {"images": [], "totalCount": 0}


@pytest.mark.parametrize(
    ("permission", "expected"),
    [("specifiedUsers", {"img-alice1", "img-alice3"}), ("ownerOnly", {"img-alice2"})],
)
def test_launch_permission_filter(vm_tenants: Tenants, permission: str, expected: set[str]) -> None:
    result = result_of(
        vm_tenants.get("alice", f"imageSource=private&launchPermission={permission}")
    )

    assert {image["imageId"] for image in result["images"]} == expected
    assert {image["launchPermission"] for image in result["images"]} == {permission}
    assert result["totalCount"] == len(expected)


def test_launch_permission_all_every_own_image(vm_tenants: Tenants) -> None:
    result = result_of(vm_tenants.get("alice", "imageSource=private&launchPermission=all"))
    unfiltered = result_of(vm_tenants.get("alice", "imageSource=private"))

    assert {image["ownerPin"] for image in result["images"]} == {"alice"}
    assert result["images"] == unfiltered["images"]
    assert result["totalCount"] == unfiltered["totalCount"]


@pytest.mark.parametrize(
    "query",
    [
        "imageSource=public&launchPermission=ownerOnly",
        "imageSource=shared&launchPermission=specifiedUsers",
        "imageSource=community&launchPermission=all",
        "ids.1=img-alice1&launchPermission=ownerOnly",
    ],
)
def test_launch_permission_needs_private(vm_tenants: Tenants, query: str) -> None:
    reply = vm_tenants.get("alice", query)

    body = reply.json()
    assert reply.status == 400
    assert body["error"] == {
        "code": 400,
        "status": "INVALID_ARGUMENT",
        "message": "Parameter launchPermission is only valid with imageSource 'private'",
    }


# --- The log of the strict server -------------------------------------------------------------


def test_strict_log_holds_no_secret(strict_server: RunningServer) -> None:
    # Last in this module, so that the log contains every request sent to this server.
    other = strict_server.add_key("frank")
    send(strict_server, credentials=other)
    send(strict_server, credentials=random_credentials(other.access_key))
    send(strict_server, algorithm=ALGORITHM_V2, signed_header_names=GO_SDK_SIGNED_HEADERS)

    log = strict_server.wait_for_log('"logger":"cocvm.access"')
    signatures = SENT_SIGNATURES[strict_server.port]
    secrets = SENT_SECRETS[strict_server.port]

    assert '"logger":"cocvm.access"' in log
    assert {strict_server.credentials.secret_key, other.secret_key} <= secrets
    assert [secret for secret in secrets if secret in log] == []
    assert len(signatures) >= 3
    assert [signature for signature in signatures if signature in log] == []
    assert "Authorization" not in log
    assert "imageSource=" not in log
