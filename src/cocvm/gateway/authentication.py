"""Who is calling: JD Cloud request signatures checked against the access keys in the store.

Modes (`cocvm serve --auth`):
- `strict` (default): every request needs a valid JDCLOUD2 or JDCLOUD3 signature by an enabled key,
  a request time within the allowed clock skew, and a signed nonce not seen before.
- `emulator`: for testing client code. Any well-formed signed request is accepted without checking
  the secret, the clock or nonces. The caller's pin is the key's pin when the key is known, else the
  access key id itself, so a test can act as many tenants just by using different keys.
- `off`: no check at all and every caller is anonymous (public images only): for benchmarks and
  trusted networks.

Failures are 401 ACCESS_ERROR. An unknown access key, a wrong secret and a request changed in
transit all get `sign result is not same`, so that the reply never tells whether a key exists to
someone who does not hold its secret; `Invalid accessKey` (a disabled key) is only returned to a
valid signature.
A stored secret that the server key cannot decrypt is the operator's fault, not the caller's: that
request gets 500 INTERNAL and the log says which access key and what to fix.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, Protocol

from cocvm.errors import AccessError, InternalError
from cocvm.gateway.nonces import NonceStore
from cocvm.images.visibility import ANONYMOUS, Caller
from cocvm.signing import (
    CONTENT_SHA256_HEADER,
    DATE_HEADER,
    NONCE_HEADER,
    Authorization,
    SignatureError,
    check_request_date,
    parse_authorization,
    payload_hash_candidates,
    verify_signature,
)
from cocvm.store.keys import StoredKey
from cocvm.store.secret_box import SecretBox, ServerKeyError

logger = logging.getLogger(__name__)

SIGNATURE_MISMATCH = "sign result is not same"
INVALID_ACCESS_KEY = "Invalid accessKey"
DEFAULT_MAX_CLOCK_SKEW_SECONDS = 15 * 60
_SECRET_CACHE_SIZE = 10_000


class AuthMode(enum.StrEnum):
    """The way the gateway checks callers: strict, emulator or off."""

    STRICT = "strict"
    EMULATOR = "emulator"
    OFF = "off"


class KeyLookup(Protocol):
    """Finds an access key's row; the catalog reader provides it."""

    async def find_access_key(self, access_key: str) -> StoredKey | None:
        """Return the key's row, or None when no such key exists."""
        ...


def header_lists(raw_headers: Iterable[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """Group ASGI headers by lower-case name; values decode as Latin-1, as HTTP/1.1 sends them."""
    grouped: dict[str, list[str]] = {}
    for name, value in raw_headers:
        grouped.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return grouped


class Authenticator:
    """Turns a request's signature into the Caller it acts for, or raises AccessError."""

    def __init__(
        self,
        mode: AuthMode,
        keys: KeyLookup,
        secret_box: SecretBox | None,
        nonces: NonceStore,
        *,
        max_clock_skew_seconds: int = DEFAULT_MAX_CLOCK_SKEW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mode is AuthMode.STRICT and secret_box is None:
            raise ValueError("strict mode needs the server key to decrypt access key secrets")
        self._mode = mode
        self._keys = keys
        self._secret_box = secret_box
        self._nonces = nonces
        self._max_clock_skew_seconds = max_clock_skew_seconds
        self._clock = clock
        self._secrets: OrderedDict[tuple[str, bytes], str] = OrderedDict()
        # Access keys whose secret failed to decrypt, each logged once; bounded like the cache.
        self._undecryptable_keys: OrderedDict[str, None] = OrderedDict()
        # Verifying against a random secret for an unknown key keeps its reply time like a
        # known key's, so timing does not reveal which keys exist either.
        self._decoy_secret = os.urandom(16).hex().upper()

    @property
    def mode(self) -> AuthMode:
        """The mode this authenticator runs in."""
        return self._mode

    async def authenticate(self, scope: MutableMapping[str, Any], region_id: str) -> Caller:
        """Check the request's signature and return its caller.

        Raises AccessError when the request is not accepted, and InternalError when the key's
        stored secret cannot be decrypted with the server key.
        """
        if self._mode is AuthMode.OFF:
            return ANONYMOUS

        headers = header_lists(scope["headers"])
        authorization = self._parse(headers)
        if authorization.region != region_id:
            raise AccessError(
                f"the credential scope region '{authorization.region}' does not match "
                f"the request region '{region_id}'"
            )

        stored = await self._keys.find_access_key(authorization.access_key)
        if self._mode is AuthMode.EMULATOR:
            if stored is not None and not stored.enabled:
                raise AccessError(INVALID_ACCESS_KEY)
            return Caller(
                pin=stored.pin if stored is not None else authorization.access_key,
                access_key=authorization.access_key,
            )

        self._check_clock_skew(authorization, headers)
        if not self._signature_matches(authorization, stored, scope, headers):
            raise AccessError(SIGNATURE_MISMATCH)
        assert stored is not None, "a decoy secret never matches"
        if not stored.enabled:
            raise AccessError(INVALID_ACCESS_KEY)
        await self._check_nonce(authorization, headers)
        return Caller(pin=stored.pin, access_key=stored.access_key)

    def _parse(self, headers: dict[str, list[str]]) -> Authorization:
        values = headers.get("authorization")
        if not values:
            raise AccessError("lack of header authorization")
        try:
            authorization = parse_authorization(values[0])
            check_request_date(authorization, _first(headers, DATE_HEADER))
        except SignatureError as error:
            raise AccessError(error.message) from None
        return authorization

    def _check_clock_skew(
        self, authorization: Authorization, headers: dict[str, list[str]]
    ) -> None:
        request_time = check_request_date(authorization, _first(headers, DATE_HEADER))
        skew = abs(self._clock() - request_time.timestamp())
        if skew > self._max_clock_skew_seconds:
            raise AccessError(
                f"the request time is out of range: {DATE_HEADER} "
                f"'{_first(headers, DATE_HEADER)}' is more than "
                f"{_duration(self._max_clock_skew_seconds)} from the server's clock"
            )

    def _signature_matches(
        self,
        authorization: Authorization,
        stored: StoredKey | None,
        scope: MutableMapping[str, Any],
        headers: dict[str, list[str]],
    ) -> bool:
        secret = self._decoy_secret if stored is None else self._secret_of(stored)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        try:
            matches = verify_signature(
                authorization,
                secret,
                scope["method"],
                raw_path,
                scope["query_string"],
                lambda name: headers.get(name),
                # describeImages is a GET with an empty body, so the declared body hash can be
                # tried without loosening what the signature binds.
                payload_hash_candidates(b"", _first(headers, CONTENT_SHA256_HEADER)),
            )
        except SignatureError as error:
            raise AccessError(error.message) from None
        return matches and stored is not None

    def _secret_of(self, stored: StoredKey) -> str:
        assert self._secret_box is not None
        cache_key = (stored.access_key, stored.secret_ciphertext)
        secret = self._secrets.get(cache_key)
        if secret is None:
            try:
                secret = self._secret_box.decrypt(stored.secret_ciphertext)
            except ServerKeyError as error:
                self._log_undecryptable(stored.access_key, error)
                raise InternalError() from None
            self._secrets[cache_key] = secret
            if len(self._secrets) > _SECRET_CACHE_SIZE:
                self._secrets.popitem(last=False)
        return secret

    def _log_undecryptable(self, access_key: str, error: ServerKeyError) -> None:
        if access_key in self._undecryptable_keys:
            return
        self._undecryptable_keys[access_key] = None
        if len(self._undecryptable_keys) > _SECRET_CACHE_SIZE:
            self._undecryptable_keys.popitem(last=False)
        logger.error(
            "Cannot check signatures of access key %s, so its requests fail with 500 INTERNAL "
            "(logged once per key): %s",
            access_key,
            error,
            extra={"fields": {"accessKey": access_key}},
        )

    async def _check_nonce(
        self, authorization: Authorization, headers: dict[str, list[str]]
    ) -> None:
        # An unsigned nonce proves nothing (anyone can change it), so only signed ones count.
        # JD Cloud's Python SDK since 1.6.95 does not sign its nonce.
        if NONCE_HEADER not in authorization.signed_headers:
            return
        nonce = _first(headers, NONCE_HEADER)
        if nonce is None:
            return
        remembered = await self._nonces.remember(
            _nonce_key(authorization.access_key, nonce), 2 * self._max_clock_skew_seconds
        )
        if not remembered:
            raise AccessError(
                f"the request was replayed: {NONCE_HEADER} '{nonce}' was already used"
            )


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _nonce_key(access_key: str, nonce: str) -> str:
    # A digest keeps every stored entry small however long the nonce header is, and the
    # length prefix keeps ("a:b", "c") and ("a", "b:c") apart.
    material = f"{len(access_key)}:{access_key}:{nonce}".encode()
    return hashlib.sha256(material).hexdigest()


def _duration(seconds: int) -> str:
    """Format a clock-skew limit for a message: whole minutes as minutes, else seconds."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"
