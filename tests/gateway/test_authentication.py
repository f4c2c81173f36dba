import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet

from cocvm.errors import AccessError, InternalError
from cocvm.gateway.authentication import (
    INVALID_ACCESS_KEY,
    SIGNATURE_MISMATCH,
    Authenticator,
    AuthMode,
)
from cocvm.gateway.nonces import MemoryNonceStore
from cocvm.images.visibility import ANONYMOUS, Caller
from cocvm.signing import ALGORITHM_V2, ALGORITHM_V3, sign_request_parts
from cocvm.store.keys import StoredKey
from cocvm.store.secret_box import SecretBox

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
HOST = "cocvm.test:8000"
REGION = "cn-north-1"
PATH = "/v1/regions/cn-north-1/images"
QUERY = "imageSource=public&pageSize=10"
UNSIGNED_NONCE_HEADERS = ("content-type", "host")


class FakeKeys:
    """Access key rows in a dict, looked up as the catalog reader does."""

    def __init__(self) -> None:
        self.rows: dict[str, StoredKey] = {}

    async def find_access_key(self, access_key: str) -> StoredKey | None:
        return self.rows.get(access_key)


class RecordingNonces:
    """A nonce store that records what it is asked to remember."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self._inner = MemoryNonceStore()

    async def remember(self, key: str, ttl_seconds: int) -> bool:
        self.calls.append((key, ttl_seconds))
        return await self._inner.remember(key, ttl_seconds)

    async def close(self) -> None:
        await self._inner.close()


class CountingBox(SecretBox):
    """A SecretBox that counts decryptions."""

    def __init__(self, server_key: bytes) -> None:
        super().__init__(server_key)
        self.decryptions = 0

    def decrypt(self, ciphertext: bytes) -> str:
        self.decryptions += 1
        return super().decrypt(ciphertext)


@dataclass
class Gateway:
    """An Authenticator over fake keys, a real SecretBox and a fixed clock."""

    authenticator: Authenticator
    keys: FakeKeys
    box: SecretBox
    nonces: Any

    def add_key(
        self, pin: str, *, enabled: bool = True, box: SecretBox | None = None
    ) -> tuple[str, str]:
        access_key = f"AK{len(self.keys.rows):030d}"
        secret_key = f"SECRET-OF-{pin}-{len(self.keys.rows)}"
        self.keys.rows[access_key] = StoredKey(
            access_key=access_key,
            pin=pin,
            secret_ciphertext=(box or self.box).encrypt(secret_key),
            enabled=enabled,
            created_at=0,
        )
        return access_key, secret_key

    def authenticate(self, scope: dict[str, Any], region_id: str = REGION) -> Caller:
        return asyncio.run(self.authenticator.authenticate(scope, region_id))

    def reject(self, scope: dict[str, Any], region_id: str = REGION) -> str:
        """Authenticate a request that must fail and return the AccessError's message."""
        with pytest.raises(AccessError) as raised:
            self.authenticate(scope, region_id)
        return raised.value.message


def make_gateway(
    mode: AuthMode = AuthMode.STRICT,
    *,
    max_clock_skew_seconds: int = 900,
    nonces: Any = None,
    box: SecretBox | None = None,
) -> Gateway:
    keys = FakeKeys()
    box = box or SecretBox(Fernet.generate_key())
    nonces = nonces or MemoryNonceStore()
    authenticator = Authenticator(
        mode,
        keys,
        box if mode is AuthMode.STRICT else None,
        nonces,
        max_clock_skew_seconds=max_clock_skew_seconds,
        clock=NOW.timestamp,
    )
    return Gateway(authenticator, keys, box, nonces)


def signed_headers(
    access_key: str,
    secret_key: str,
    *,
    method: str = "GET",
    path: str = PATH,
    query: str = QUERY,
    host: str = HOST,
    region: str = REGION,
    algorithm: str = ALGORITHM_V3,
    timestamp: datetime = NOW,
    nonce: str | None = None,
    signed_header_names: tuple[str, ...] | None = UNSIGNED_NONCE_HEADERS,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Sign a request as a JD Cloud client would; by default JDCLOUD3 over content-type;host."""
    return sign_request_parts(
        method,
        host,
        path,
        query,
        {"Content-Type": "application/json", **(headers or {})},
        b"",
        access_key,
        secret_key,
        region,
        "vm",
        algorithm=algorithm,
        timestamp=timestamp,
        nonce=nonce,
        signed_header_names=signed_header_names,
    )


def scope_of(
    headers: Mapping[str, str],
    *,
    method: str = "GET",
    path: str = PATH,
    query: str = QUERY,
    host: str = HOST,
) -> dict[str, Any]:
    """Build the ASGI scope a server would pass for this request."""
    raw_headers = [(b"host", host.encode("latin-1"))]
    raw_headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query.encode("utf-8"),
        "headers": raw_headers,
    }


def without(headers: Mapping[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() != name}


# --- Strict mode: accepted requests -------------------------------------------------------------


def test_authenticate_v3_signature_returns_pin() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")

    caller = gateway.authenticate(scope_of(signed_headers(access_key, secret_key)))

    assert caller == Caller(pin="alice", access_key=access_key)


def test_authenticate_v2_signature_returns_pin() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = signed_headers(
        access_key, secret_key, algorithm=ALGORITHM_V2, nonce="n-1", signed_header_names=None
    )

    caller = gateway.authenticate(scope_of(headers))

    assert caller == Caller(pin="alice", access_key=access_key)


def test_authenticate_two_keys_two_pins() -> None:
    gateway = make_gateway()
    alice = gateway.add_key("alice")
    bob = gateway.add_key("bob")

    assert gateway.authenticate(scope_of(signed_headers(*alice))).pin == "alice"
    assert gateway.authenticate(scope_of(signed_headers(*bob))).pin == "bob"


def test_authenticate_secret_decrypted_once() -> None:
    box = CountingBox(Fernet.generate_key())
    gateway = make_gateway(box=box)
    access_key, secret_key = gateway.add_key("alice")

    for _ in range(3):
        gateway.authenticate(scope_of(signed_headers(access_key, secret_key)))

    assert box.decryptions == 1


def test_authenticator_strict_needs_secret_box() -> None:
    with pytest.raises(ValueError, match="server key"):
        Authenticator(AuthMode.STRICT, FakeKeys(), None, MemoryNonceStore())


# --- Strict mode: malformed requests ------------------------------------------------------------


def test_authenticate_missing_authorization() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = without(signed_headers(access_key, secret_key), "authorization")

    assert gateway.reject(scope_of(headers)) == "lack of header authorization"


def test_authenticate_blank_authorization() -> None:
    gateway = make_gateway()

    assert gateway.reject(scope_of({"Authorization": "   "})) == "lack of header authorization"


SIGNATURE = "0" * 64
CREDENTIAL = "AK0/20260102/cn-north-1/vm/jdcloud3_request"


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (
            "garbage",
            "unsupported signing algorithm 'garbage' in the header authorization; "
            "expected JDCLOUD2-HMAC-SHA256 or JDCLOUD3-HMAC-SHA256",
        ),
        (
            f"HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=host, Signature={SIGNATURE}",
            "unsupported signing algorithm 'HMAC-SHA256' in the header authorization; "
            "expected JDCLOUD2-HMAC-SHA256 or JDCLOUD3-HMAC-SHA256",
        ),
        (
            f"JDCLOUD3-HMAC-SHA256 SignedHeaders=host, Signature={SIGNATURE}",
            "lack of credential in the header authorization",
        ),
        (
            f"JDCLOUD3-HMAC-SHA256 Credential={CREDENTIAL}, Signature={SIGNATURE}",
            "lack of header signedHeaders",
        ),
        (
            f"JDCLOUD3-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=host",
            "lack of signature in the header authorization",
        ),
    ],
    ids=["garbage", "unknown-algorithm", "no-credential", "no-signed-headers", "no-signature"],
)
def test_authenticate_malformed_authorization(authorization: str, message: str) -> None:
    gateway = make_gateway()
    headers = {"x-jdcloud-date": "20260102T030405Z", "Authorization": authorization}

    assert gateway.reject(scope_of(headers)) == message


def test_authenticate_missing_date() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = without(signed_headers(access_key, secret_key), "x-jdcloud-date")

    assert gateway.reject(scope_of(headers)) == "lack of header x-jdcloud-date"


def test_authenticate_date_not_scope_date() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = signed_headers(access_key, secret_key)
    headers["x-jdcloud-date"] = "20260103T030405Z"

    assert gateway.reject(scope_of(headers)) == (
        "header x-jdcloud-date '20260103T030405Z' does not match the credential date "
        "'20260102' in the header authorization"
    )


def test_authenticate_signed_header_missing() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = without(signed_headers(access_key, secret_key), "content-type")

    assert gateway.reject(scope_of(headers)) == "lack of header content-type"


def test_authenticate_region_mismatch() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    scope = scope_of(signed_headers(access_key, secret_key), path="/v1/regions/cn-east-2/images")

    assert gateway.reject(scope, "cn-east-2") == (
        "the credential scope region 'cn-north-1' does not match the request region 'cn-east-2'"
    )


# --- Strict mode: keys and signatures -----------------------------------------------------------


def test_authenticate_unknown_key_mismatch() -> None:
    gateway = make_gateway()

    assert gateway.reject(scope_of(signed_headers("AKUNKNOWN", "whatever"))) == SIGNATURE_MISMATCH


def test_authenticate_wrong_secret_mismatch() -> None:
    gateway = make_gateway()
    access_key, _secret_key = gateway.add_key("alice")

    assert gateway.reject(scope_of(signed_headers(access_key, "wrong"))) == SIGNATURE_MISMATCH


def test_authenticate_disabled_key_valid_signature() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice", enabled=False)

    assert gateway.reject(scope_of(signed_headers(access_key, secret_key))) == INVALID_ACCESS_KEY


def test_authenticate_disabled_key_wrong_secret() -> None:
    # A caller without the secret must not learn that the key exists, enabled or not.
    gateway = make_gateway()
    access_key, _secret_key = gateway.add_key("alice", enabled=False)

    assert gateway.reject(scope_of(signed_headers(access_key, "wrong"))) == SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("query", "imageSource=private&pageSize=10"),
        ("query", "imageSource=public&pageSize=11"),
        ("query", "imageSource=public&pageSize=10&ids.1=img-a"),
        ("path", "/v1/regions/cn-north-1/images/"),
        ("method", "HEAD"),
        ("host", "cocvm.test:8001"),
        ("host", "other.test:8000"),
        ("content-type", "text/plain"),
    ],
)
def test_authenticate_changed_in_transit(change: str, value: str) -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = signed_headers(access_key, secret_key)
    arguments: dict[str, Any] = {}
    if change == "content-type":
        headers["Content-Type"] = value
    else:
        arguments[change] = value

    assert gateway.reject(scope_of(headers, **arguments)) == SIGNATURE_MISMATCH


def test_authenticate_signed_date_changed() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = signed_headers(access_key, secret_key, signed_header_names=None, nonce="n-1")
    headers["x-jdcloud-date"] = "20260102T030406Z"

    assert gateway.reject(scope_of(headers)) == SIGNATURE_MISMATCH


def test_authenticate_undecryptable_secret(caplog: pytest.LogCaptureFixture) -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice", box=SecretBox(Fernet.generate_key()))
    scope = scope_of(signed_headers(access_key, secret_key))

    with caplog.at_level(logging.ERROR, logger="cocvm.gateway.authentication"):
        for _ in range(2):
            with pytest.raises(InternalError):
                gateway.authenticate(scope)

    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert access_key in errors[0].getMessage()
    assert "cannot decrypt the access key secrets" in errors[0].getMessage()
    assert secret_key not in caplog.text


# --- Strict mode: clock skew --------------------------------------------------------------------


@pytest.mark.parametrize("offset_seconds", [-900, -1, 0, 1, 900])
def test_authenticate_time_within_skew(offset_seconds: int) -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    headers = signed_headers(
        access_key, secret_key, timestamp=NOW + timedelta(seconds=offset_seconds)
    )

    assert gateway.authenticate(scope_of(headers)).pin == "alice"


@pytest.mark.parametrize("offset_seconds", [-901, 901, -86_400])
def test_authenticate_time_out_of_range(offset_seconds: int) -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    request_time = NOW + timedelta(seconds=offset_seconds)
    headers = signed_headers(access_key, secret_key, timestamp=request_time)

    assert gateway.reject(scope_of(headers)) == (
        f"the request time is out of range: x-jdcloud-date "
        f"'{request_time.strftime('%Y%m%dT%H%M%SZ')}' is more than 15 minutes "
        "from the server's clock"
    )


def test_authenticate_time_out_of_range_unknown_key() -> None:
    gateway = make_gateway()
    headers = signed_headers("AKUNKNOWN", "whatever", timestamp=NOW - timedelta(hours=1))

    assert gateway.reject(scope_of(headers)).startswith("the request time is out of range")


@pytest.mark.parametrize(
    ("max_skew", "offset_seconds", "limit_text"),
    [(60, 120, "1 minute"), (60, -61, "1 minute"), (90, 91, "90 seconds"), (120, 121, "2 minutes")],
)
def test_authenticate_custom_skew_rejects(
    max_skew: int, offset_seconds: int, limit_text: str
) -> None:
    gateway = make_gateway(max_clock_skew_seconds=max_skew)
    access_key, secret_key = gateway.add_key("alice")
    headers = signed_headers(
        access_key, secret_key, timestamp=NOW + timedelta(seconds=offset_seconds)
    )

    message = gateway.reject(scope_of(headers))

    assert message.startswith("the request time is out of range")
    assert message.endswith(f"is more than {limit_text} from the server's clock")


def test_authenticate_custom_skew_accepts() -> None:
    gateway = make_gateway(max_clock_skew_seconds=60)
    access_key, secret_key = gateway.add_key("alice")
    headers = signed_headers(access_key, secret_key, timestamp=NOW - timedelta(seconds=30))

    assert gateway.authenticate(scope_of(headers)).pin == "alice"


# --- Strict mode: nonces ------------------------------------------------------------------------


def v2_headers(access_key: str, secret_key: str, nonce: str) -> dict[str, str]:
    """JDCLOUD2 as the Go and Java SDKs sign it: the nonce is a signed header."""
    return signed_headers(
        access_key,
        secret_key,
        algorithm=ALGORITHM_V2,
        nonce=nonce,
        signed_header_names=("content-type", "host", "x-jdcloud-date", "x-jdcloud-nonce"),
    )


def test_authenticate_signed_nonce_replay_rejected() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    scope = scope_of(v2_headers(access_key, secret_key, "nonce-1"))

    gateway.authenticate(scope)

    message = gateway.reject(scope)

    assert message == "the request was replayed: x-jdcloud-nonce 'nonce-1' was already used"


def test_authenticate_signed_nonce_fresh_accepted() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")

    gateway.authenticate(scope_of(v2_headers(access_key, secret_key, "nonce-1")))
    caller = gateway.authenticate(scope_of(v2_headers(access_key, secret_key, "nonce-2")))

    assert caller.pin == "alice"


def test_authenticate_unsigned_nonce_may_repeat() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")
    scope = scope_of(signed_headers(access_key, secret_key, nonce="nonce-1"))

    gateway.authenticate(scope)

    assert gateway.authenticate(scope).pin == "alice"


def test_authenticate_same_nonce_other_key() -> None:
    gateway = make_gateway()
    alice = gateway.add_key("alice")
    bob = gateway.add_key("bob")

    gateway.authenticate(scope_of(v2_headers(*alice, "nonce-1")))

    assert gateway.authenticate(scope_of(v2_headers(*bob, "nonce-1"))).pin == "bob"


def test_authenticate_rejected_request_keeps_nonce_unused() -> None:
    # A forged request must not burn the nonce of the genuine one.
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice")

    gateway.reject(scope_of(v2_headers(access_key, "wrong", "nonce-1")))
    caller = gateway.authenticate(scope_of(v2_headers(access_key, secret_key, "nonce-1")))

    assert caller.pin == "alice"


def test_authenticate_disabled_key_keeps_nonce_unused() -> None:
    gateway = make_gateway()
    access_key, secret_key = gateway.add_key("alice", enabled=False)
    scope = scope_of(v2_headers(access_key, secret_key, "nonce-1"))
    gateway.reject(scope)

    gateway.keys.rows[access_key] = StoredKey(
        access_key, "alice", gateway.keys.rows[access_key].secret_ciphertext, True, 0
    )

    assert gateway.authenticate(scope).pin == "alice"


def test_authenticate_nonce_remembered_twice_skew() -> None:
    nonces = RecordingNonces()
    gateway = make_gateway(nonces=nonces, max_clock_skew_seconds=600)
    access_key, secret_key = gateway.add_key("alice")

    gateway.authenticate(scope_of(v2_headers(access_key, secret_key, "nonce-1")))

    assert [ttl for _key, ttl in nonces.calls] == [1200]


def test_authenticate_nonce_key_fixed_size() -> None:
    nonces = RecordingNonces()
    gateway = make_gateway(nonces=nonces)
    access_key, secret_key = gateway.add_key("alice")
    long_nonce = "n" * 10_000

    gateway.authenticate(scope_of(v2_headers(access_key, secret_key, long_nonce)))

    ((stored_key, _ttl),) = nonces.calls
    assert len(stored_key) == 64
    assert long_nonce not in stored_key


# --- Emulator and off modes ---------------------------------------------------------------------


def test_emulator_unsigned_rejected() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)

    assert gateway.reject(scope_of({})) == "lack of header authorization"


def test_emulator_malformed_rejected() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)
    headers = {"x-jdcloud-date": "20260102T030405Z", "Authorization": "garbage"}

    assert gateway.reject(scope_of(headers)).startswith("unsupported signing algorithm 'garbage'")


def test_emulator_unknown_key_pin_is_access_key() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)

    caller = gateway.authenticate(scope_of(signed_headers("AKTENANT1", "any secret")))

    assert caller == Caller(pin="AKTENANT1", access_key="AKTENANT1")


def test_emulator_known_key_any_secret() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)
    access_key, _secret_key = gateway.add_key("alice")

    caller = gateway.authenticate(scope_of(signed_headers(access_key, "not the secret")))

    assert caller == Caller(pin="alice", access_key=access_key)


def test_emulator_disabled_key_rejected() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)
    access_key, secret_key = gateway.add_key("alice", enabled=False)

    assert gateway.reject(scope_of(signed_headers(access_key, secret_key))) == INVALID_ACCESS_KEY


def test_emulator_clock_not_checked() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)
    headers = signed_headers("AKTENANT1", "s", timestamp=NOW - timedelta(days=30))

    assert gateway.authenticate(scope_of(headers)).pin == "AKTENANT1"


def test_emulator_nonce_not_checked() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)
    scope = scope_of(v2_headers("AKTENANT1", "s", "nonce-1"))
    gateway.authenticate(scope)

    assert gateway.authenticate(scope).pin == "AKTENANT1"


def test_emulator_region_checked() -> None:
    gateway = make_gateway(AuthMode.EMULATOR)
    scope = scope_of(signed_headers("AKTENANT1", "s"), path="/v1/regions/cn-east-2/images")

    assert gateway.reject(scope, "cn-east-2").startswith("the credential scope region 'cn-north-1'")


def test_off_mode_anonymous_without_headers() -> None:
    gateway = make_gateway(AuthMode.OFF)

    assert gateway.authenticate(scope_of({})) is ANONYMOUS


def test_off_mode_ignores_signature() -> None:
    gateway = make_gateway(AuthMode.OFF)
    access_key, secret_key = gateway.add_key("alice")

    assert gateway.authenticate(scope_of(signed_headers(access_key, secret_key))) is ANONYMOUS
