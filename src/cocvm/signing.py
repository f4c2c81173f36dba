"""JD Cloud request signatures: JDCLOUD2-HMAC-SHA256 and JDCLOUD3-HMAC-SHA256.

Both versions follow the same scheme and differ in the version digit, the credential scope
terminator and the way header values are normalised::

    canonical request = method \\n canonical URI \\n canonical query \\n
                        canonical headers (one "name:value\\n" per signed header) \\n
                        signed header names joined by ";" \\n payload hash
    string to sign    = algorithm \\n timestamp \\n scope \\n sha256-hex(canonical request)
    scope             = YYYYMMDD/region/service/jdcloudV_request
    signing key       = HMAC chain over "JDCLOUDV" + secret key, date, region, service, terminator
    Authorization     = "ALGORITHM Credential=AK/scope, SignedHeaders=a;b, Signature=hex"

Clients sign with `sign_request`. The gateway parses the header with `parse_authorization`,
checks the date with `check_request_date` and compares with `verify_signature`.
The URI and query rules are those of JD Cloud's Python SDK 1.6.354 for both versions,
because for describeImages requests they give the same strings as the Go and Java v2 signers.

Errors raised while verifying carry, in `message`, the text to return in the gateway's
401 ACCESS_ERROR reply (JD Cloud's own wording where its gateway documents one)::

    SignatureError (ValueError)
    ├── AuthorizationFormatError   the Authorization header is missing, incomplete or malformed
    └── RequestHeaderError         x-jdcloud-date or a signed header is missing or invalid

A wrong signature is not an error: `verify_signature` returns False.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeAlias
from urllib.parse import quote, unquote_plus, urlsplit

ALGORITHM_V2 = "JDCLOUD2-HMAC-SHA256"
ALGORITHM_V3 = "JDCLOUD3-HMAC-SHA256"

DATE_HEADER = "x-jdcloud-date"
NONCE_HEADER = "x-jdcloud-nonce"
CONTENT_SHA256_HEADER = "x-jdcloud-content-sha256"

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()

SignatureVersion: TypeAlias = Literal[2, 3]

HeaderValue: TypeAlias = str | Sequence[str]
"""A header's value, or all its values in arrival order when the header is repeated."""

HeaderLookup: TypeAlias = Callable[[str], HeaderValue | None]
"""A function from a lower-case header name to its value, None or [] when it is absent."""

HeaderSource: TypeAlias = Mapping[str, HeaderValue] | HeaderLookup

_VERSIONS: dict[str, SignatureVersion] = {ALGORITHM_V2: 2, ALGORITHM_V3: 3}

# The JD Cloud Python SDK leaves these two out of SignedHeaders, and sign_request does the
# same by default. Authorization cannot sign itself.
_UNSIGNED_HEADERS = frozenset({"authorization", "user-agent"})

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_TIMESTAMP_PATTERN = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SIGNATURE_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
_MESSAGE_VALUE_LIMIT = 100


class SignatureError(ValueError):
    """A request cannot be verified because a signing input is missing or malformed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthorizationFormatError(SignatureError):
    """The Authorization header is missing, incomplete or malformed."""


class RequestHeaderError(SignatureError):
    """The x-jdcloud-date header or a header listed in SignedHeaders is missing or invalid."""


def version_of(algorithm: str) -> SignatureVersion:
    """Return the signature version (2 or 3) of an algorithm name, or raise ValueError."""
    try:
        return _VERSIONS[algorithm]
    except KeyError:
        raise ValueError(
            f"unsupported signing algorithm {algorithm!r}; "
            f"expected {ALGORITHM_V2} or {ALGORITHM_V3}"
        ) from None


def algorithm_of(version: SignatureVersion) -> str:
    """Return the algorithm name of a signature version."""
    return ALGORITHM_V2 if version == 2 else ALGORITHM_V3


def scope_terminator(version: SignatureVersion) -> str:
    """Return the last credential scope element: jdcloud2_request or jdcloud3_request."""
    return f"jdcloud{version}_request"


# --- The Authorization header ---------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    """The parts of a JD Cloud Authorization header."""

    algorithm: str
    access_key: str
    date: str
    """Credential scope date, YYYYMMDD."""
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    """Lower-case header names in the order the client listed them."""
    signature: str = field(repr=False)
    """Lower-case hex HMAC-SHA256."""

    @property
    def version(self) -> SignatureVersion:
        return version_of(self.algorithm)

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"

    def to_header(self) -> str:
        """Format the header value as JD Cloud's SDKs do, with ", " between the parts."""
        return (
            f"{self.algorithm} Credential={self.access_key}/{self.scope}, "
            f"SignedHeaders={';'.join(self.signed_headers)}, Signature={self.signature}"
        )


def parse_authorization(header: str | None) -> Authorization:
    """Parse an Authorization header value, or raise AuthorizationFormatError if it is invalid.

    Accepts extra spaces around the parts and between them, component names in any case,
    and an access key that contains spaces or slashes. The algorithm token must be
    JDCLOUD2-HMAC-SHA256 or JDCLOUD3-HMAC-SHA256 and the scope terminator must match it.
    """
    text = (header or "").strip()
    if not text:
        raise AuthorizationFormatError("lack of header authorization")

    algorithm, *rest = text.split(maxsplit=1)
    if algorithm not in _VERSIONS:
        raise AuthorizationFormatError(
            f"unsupported signing algorithm {_shorten(algorithm)} in the header authorization; "
            f"expected {ALGORITHM_V2} or {ALGORITHM_V3}"
        )
    components = _split_components(rest[0] if rest else "")

    credential = components.get("credential")
    if not credential:
        raise AuthorizationFormatError("lack of credential in the header authorization")
    signed_headers = components.get("signedheaders")
    if not signed_headers:
        raise AuthorizationFormatError("lack of header signedHeaders")
    signature = components.get("signature")
    if not signature:
        # NOTE: JD Cloud documents no message for this case, so this one follows the
        # wording of its "lack of credential" message.
        raise AuthorizationFormatError("lack of signature in the header authorization")

    access_key, date, region, service, terminator = _parse_credential(credential, algorithm)
    return Authorization(
        algorithm=algorithm,
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=_parse_signed_headers(signed_headers),
        signature=_parse_signature(signature),
    )


def _split_components(text: str) -> dict[str, str]:
    components: dict[str, str] = {}
    for piece in text.split(","):
        if not piece.strip():
            continue
        name, equals, value = piece.partition("=")
        key = name.strip().lower()
        if not equals or key not in ("credential", "signedheaders", "signature"):
            raise AuthorizationFormatError(
                f"invalid header authorization: unexpected part {_shorten(piece.strip())}; "
                "expected 'ALGORITHM Credential=..., SignedHeaders=..., Signature=...'"
            )
        if key in components:
            raise AuthorizationFormatError(
                f"invalid header authorization: {name.strip()} appears more than once"
            )
        components[key] = value.strip()
    return components


def _parse_credential(credential: str, algorithm: str) -> tuple[str, str, str, str, str]:
    expected_terminator = scope_terminator(version_of(algorithm))
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or not all(part.strip() for part in parts):
        raise AuthorizationFormatError(
            f"invalid credential {_shorten(credential)} in the header authorization; "
            f"expected AccessKey/YYYYMMDD/region/service/{expected_terminator}"
        )

    access_key, date, region, service, terminator = (part.strip() for part in parts)
    if len(date) != 8 or not (date.isascii() and date.isdigit()):
        raise AuthorizationFormatError(
            f"invalid credential date {_shorten(date)} in the header authorization; "
            "expected YYYYMMDD"
        )
    if terminator != expected_terminator:
        raise AuthorizationFormatError(
            f"invalid credential scope terminator {_shorten(terminator)} in the header "
            f"authorization; expected {expected_terminator} for {algorithm}"
        )
    return access_key, date, region, service, terminator


def _parse_signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in value.split(";"))
    if not all(names):
        raise AuthorizationFormatError(
            f"invalid SignedHeaders {_shorten(value)} in the header authorization; "
            "expected lower-case header names separated by ';'"
        )
    return names


def _parse_signature(value: str) -> str:
    if not _SIGNATURE_PATTERN.fullmatch(value):
        raise AuthorizationFormatError(
            "invalid Signature in the header authorization; expected 64 hexadecimal digits"
        )
    return value.lower()


def _shorten(value: str) -> str:
    """Quote a received value for an error message, cut to a bounded length."""
    if len(value) > _MESSAGE_VALUE_LIMIT:
        value = value[:_MESSAGE_VALUE_LIMIT] + "..."
    return repr(value)


# --- Canonical request ----------------------------------------------------------------------


def canonical_uri(path: str | bytes) -> str:
    """Return the canonical URI of a request path as it arrived on the wire.

    Bytes are first decoded as UTF-8. The path is percent-decoded with '+' read as a space
    (invalid escapes stay as they are, undecodable UTF-8 becomes U+FFFD, as in
    urllib.parse.unquote_plus), runs of '/' are collapsed, and every byte except
    A-Z a-z 0-9 - _ . ~ / is re-encoded as upper-case %XX of its UTF-8 form. An empty result
    becomes "/", a leading "/" is added if missing, a trailing "/" is kept. Pass the raw path
    (ASGI raw_path), not an already decoded one, or "%2F" and "%25" are decoded twice.
    """
    decoded = re.sub("/+", "/", unquote_plus(_as_text(path)))
    if not decoded:
        return "/"
    encoded = quote(decoded, safe="/~")
    return encoded if encoded.startswith("/") else "/" + encoded


def canonical_query(raw_query: str | bytes) -> str:
    """Return the canonical query string of a query as it arrived on the wire.

    `raw_query` is the part after '?' (ASGI query_string), percent-encoded or holding raw
    UTF-8 (bytes are decoded as UTF-8 first). Pieces between '&' are split on their first
    '='. Pieces without '=' and pairs whose key is empty are dropped. Key and value are
    decoded like the path in `canonical_uri` and re-encoded with only A-Z a-z 0-9 - _ . ~
    left as they are, so a space becomes %20 and '/' becomes %2F. Pairs are sorted by
    (encoded key, encoded value) in code-point order, which puts "ids.10" before "ids.2",
    and repeated keys are all kept.
    """
    pairs: list[tuple[str, str]] = []
    for piece in _as_text(raw_query).split("&"):
        key, equals, value = piece.partition("=")
        if not equals:
            continue
        encoded_key = quote(unquote_plus(key), safe="~")
        if not encoded_key:
            continue
        pairs.append((encoded_key, quote(unquote_plus(value), safe="~")))

    pairs.sort()
    return "&".join(f"{key}={value}" for key, value in pairs)


def _as_text(raw: str | bytes) -> str:
    # Raw UTF-8 on the wire and its percent-encoded form canonicalise to the same string.
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def canonical_headers(
    names: Sequence[str], headers: HeaderSource, version: SignatureVersion
) -> str:
    """Return the canonical headers block: "name:value" lines in the given order.

    The lines are joined with "\\n" and the block ends with one extra "\\n". Version 3 trims
    each value (JD Cloud Python SDK). Version 2 also collapses runs of inner spaces to one
    (JD Cloud Go SDK). The values of a repeated header are joined with ",". Raise
    RequestHeaderError if a name has no value in `headers`.
    """
    lookup = _as_lookup(headers)
    lines = []
    for name in names:
        lower_name = name.lower()
        value = lookup(lower_name)
        if value is None or (not isinstance(value, str) and len(value) == 0):
            # NOTE: JD Cloud documents no message for a missing signed header, so this one
            # follows the wording of its "lack of header x-jdcloud-date" message.
            raise RequestHeaderError(f"lack of header {lower_name}")
        lines.append(f"{lower_name}:{_normalise_header_value(value, version)}")
    return "\n".join(lines) + "\n"


def _normalise_header_value(value: HeaderValue, version: SignatureVersion) -> str:
    values = [value] if isinstance(value, str) else list(value)
    if version == 3:
        return ",".join(item.strip() for item in values)
    # NOTE: the Python SDK before 1.6.95 signed v2 values unchanged, so a value with
    # repeated inner spaces from that client fails verification here.
    return re.sub(" {2,}", " ", ",".join(values).strip())


def _as_lookup(headers: HeaderSource) -> HeaderLookup:
    if not isinstance(headers, Mapping):
        return headers
    mapping: Mapping[str, HeaderValue] = headers

    def lookup(name: str) -> HeaderValue | None:
        value = mapping.get(name)
        if value is not None:
            return value
        for key, candidate in mapping.items():
            if key.lower() == name:
                return candidate
        return None

    return lookup


def payload_hash(body: bytes) -> str:
    """Return the lower-case hex SHA-256 of a request body."""
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str | bytes,
    raw_query: str | bytes,
    signed_headers: Sequence[str],
    header_values: HeaderSource,
    payload_hash: str,
    version: SignatureVersion,
) -> str:
    """Build the canonical request from the parts that `canonical_uri` and its siblings make."""
    return _join_canonical_request(
        method,
        canonical_uri(path),
        canonical_query(raw_query),
        canonical_headers(signed_headers, header_values, version),
        signed_headers,
        payload_hash,
    )


def _join_canonical_request(
    method: str,
    uri: str,
    query: str,
    headers_block: str,
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    # The headers block ends with "\n", so a blank line separates it from the name list.
    signed_list = ";".join(name.lower() for name in signed_headers)
    return "\n".join((method.upper(), uri, query, headers_block, signed_list, payload_hash))


# --- Key and signature ----------------------------------------------------------------------


def credential_scope(date: str, region: str, service: str, version: SignatureVersion) -> str:
    """Return the credential scope YYYYMMDD/region/service/jdcloudV_request."""
    return f"{date}/{region}/{service}/{scope_terminator(version)}"


def string_to_sign(algorithm: str, timestamp: str, scope: str, canonical_request: str) -> str:
    """Build the string to sign from the x-jdcloud-date timestamp and the canonical request."""
    request_hash = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{algorithm}\n{timestamp}\n{scope}\n{request_hash}"


# A server derives the same key for every request of one access key on one day, so recent
# derivations are cached. The cache keeps secrets as lookup keys, in this process's memory only,
# where the gateway keeps decrypted secrets anyway.
@functools.lru_cache(maxsize=1024)
def signing_key(
    secret_key: str, date: str, region: str, service: str, version: SignatureVersion
) -> bytes:
    """Derive the signing key: HMAC-SHA256 of date, region, service, terminator in turn."""
    key = f"JDCLOUD{version}{secret_key}".encode()
    for message in (date, region, service, scope_terminator(version)):
        key = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return key


def compute_signature(key: bytes, string_to_sign: str) -> str:
    """Return the lower-case hex HMAC-SHA256 of the string to sign."""
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


# --- Signing (client side) ------------------------------------------------------------------


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    *,
    algorithm: str = ALGORITHM_V3,
    timestamp: datetime | None = None,
    nonce: str | None = None,
    signed_header_names: Sequence[str] | None = None,
) -> dict[str, str]:
    """Sign a request to an http(s) URL and return the headers to send with it.

    The signed host is what HTTP clients put in the Host header: the URL's host in lower
    case, with the port only when it is not the scheme's default. The JD Cloud Python SDK
    drops ports 80 and 443 whatever the scheme, so the two differ only for URLs such as
    http://host:443/. See `sign_request_parts` for the other arguments and the result.
    """
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise ValueError(f"cannot sign URL {url!r}: expected an absolute http or https URL")

    host_and_port = parts.netloc.rpartition("@")[2].lower()
    host, port = _split_port(host_and_port)
    if port == _DEFAULT_PORTS[parts.scheme]:
        host_and_port = host

    return sign_request_parts(
        method,
        host_and_port,
        parts.path,
        parts.query,
        headers,
        body,
        access_key,
        secret_key,
        region,
        service,
        algorithm=algorithm,
        timestamp=timestamp,
        nonce=nonce,
        signed_header_names=signed_header_names,
    )


def sign_request_parts(
    method: str,
    host: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    *,
    algorithm: str = ALGORITHM_V3,
    timestamp: datetime | None = None,
    nonce: str | None = None,
    signed_header_names: Sequence[str] | None = None,
) -> dict[str, str]:
    """Sign a request given as host, path and query, and return the headers to send with it.

    The result is a copy of `headers` plus x-jdcloud-date, x-jdcloud-nonce and
    Authorization. Host is not added, because HTTP clients set it from the URL, and it
    must equal `host`. The timestamp and nonce come from the arguments, else from
    x-jdcloud-date and x-jdcloud-nonce in `headers` (as the JD Cloud Python SDK does),
    else from the current time and a random UUID. By default the signed headers are host,
    x-jdcloud-date, x-jdcloud-nonce and every header in `headers` except Authorization and
    User-Agent. The JD Cloud Python SDK 1.6.354 signs only its own headers plus host
    (content-type;host for describeImages), so pass `signed_header_names` to reproduce it.
    Raise ValueError for an unknown algorithm, a naive or conflicting timestamp, a header
    given twice, or a signed header name without a value.
    """
    version = version_of(algorithm)
    caller_headers = _lower_case_headers(headers)
    request_timestamp = _resolve_timestamp(timestamp, caller_headers.get(DATE_HEADER))
    request_nonce = _resolve_nonce(nonce, caller_headers.get(NONCE_HEADER))
    values = {
        **caller_headers,
        "host": host,
        DATE_HEADER: request_timestamp,
        NONCE_HEADER: request_nonce,
    }

    if signed_header_names is None:
        names = sorted(name for name in values if name not in _UNSIGNED_HEADERS)
    else:
        names = sorted({name.lower() for name in signed_header_names})
        if not names:
            raise ValueError("signed_header_names is empty; sign at least the host header")
        missing = [name for name in names if name not in values]
        if missing:
            raise ValueError(f"cannot sign headers {missing}: they have no value in the request")

    date = request_timestamp[:8]
    request = canonical_request(method, path, query, names, values, payload_hash(body), version)
    scope = credential_scope(date, region, service, version)
    key = signing_key(secret_key, date, region, service, version)
    authorization = Authorization(
        algorithm=algorithm,
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=scope_terminator(version),
        signed_headers=tuple(names),
        signature=compute_signature(
            key, string_to_sign(algorithm, request_timestamp, scope, request)
        ),
    )

    signed = dict(headers)
    if DATE_HEADER not in caller_headers:
        signed[DATE_HEADER] = request_timestamp
    if NONCE_HEADER not in caller_headers:
        signed[NONCE_HEADER] = request_nonce
    signed["Authorization"] = authorization.to_header()
    return signed


def _lower_case_headers(headers: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in headers.items():
        lower_name = name.lower()
        if lower_name in values:
            raise ValueError(f"header {name!r} is given twice, in different letter case")
        if lower_name in ("authorization", "host"):
            raise ValueError(
                f"header {name!r} must not be in the headers to sign; "
                "pass the host as an argument and let the signer add Authorization"
            )
        values[lower_name] = value
    return values


def _resolve_timestamp(timestamp: datetime | None, header_value: str | None) -> str:
    if timestamp is not None and header_value is not None:
        raise ValueError(f"pass either the timestamp argument or the {DATE_HEADER} header")
    if header_value is not None:
        if _parse_timestamp(header_value) is None:
            raise ValueError(
                f"invalid {DATE_HEADER} header {header_value!r}: expected UTC YYYYMMDDTHHMMSSZ"
            )
        return header_value
    if timestamp is None:
        return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)
    if timestamp.tzinfo is None:
        raise ValueError(f"timestamp {timestamp.isoformat()} has no time zone; pass an aware one")
    return timestamp.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _resolve_nonce(nonce: str | None, header_value: str | None) -> str:
    if nonce is not None and header_value is not None:
        raise ValueError(f"pass either the nonce argument or the {NONCE_HEADER} header")
    if nonce is not None:
        return nonce
    if header_value is not None:
        return header_value
    return str(uuid.uuid4())


def _split_port(host_and_port: str) -> tuple[str, str | None]:
    """Split "host:port" or "[ipv6]:port" into host and port (None when there is no port)."""
    host, colon, port = host_and_port.rpartition(":")
    if not colon or not port.isdigit() or (host.startswith("[") and not host.endswith("]")):
        return host_and_port, None
    return host, port


# --- Verification (server side) -------------------------------------------------------------


def check_request_date(authorization: Authorization, x_jdcloud_date: str | None) -> datetime:
    """Parse the x-jdcloud-date value and check that its date is the credential scope date.

    Returns the request time (UTC) for the caller's clock-skew check.
    Raise RequestHeaderError if the header is missing, malformed or disagrees with the scope.
    """
    if x_jdcloud_date is None or not x_jdcloud_date.strip():
        raise RequestHeaderError(f"lack of header {DATE_HEADER}")

    request_time = _parse_timestamp(x_jdcloud_date)
    if request_time is None:
        raise RequestHeaderError(
            f"invalid header {DATE_HEADER} {_shorten(x_jdcloud_date)}; "
            "expected UTC time as YYYYMMDDTHHMMSSZ"
        )
    if x_jdcloud_date[:8] != authorization.date:
        raise RequestHeaderError(
            f"header {DATE_HEADER} {_shorten(x_jdcloud_date)} does not match the credential "
            f"date {_shorten(authorization.date)} in the header authorization"
        )
    return request_time


def _parse_timestamp(value: str) -> datetime | None:
    if not _TIMESTAMP_PATTERN.fullmatch(value):
        return None
    # The pattern fixed every position, so slicing is exact; datetime() still rejects a day 32.
    # strptime would parse the same format about twenty times slower.
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def payload_hash_candidates(body: bytes, content_sha256: str | None) -> list[str]:
    """Return the payload hashes to try: the body's own, then x-jdcloud-content-sha256.

    The JD Cloud Node.js signer signs the x-jdcloud-content-sha256 value verbatim when that
    header is present. Accepting it means the signature no longer covers the body itself,
    so a gateway should pass the header only where that is acceptable (for example an empty
    body, as on GET).
    """
    candidates = [payload_hash(body)]
    if content_sha256 is not None and content_sha256 not in candidates:
        candidates.append(content_sha256)
    return candidates


def host_candidates(host: str) -> list[str]:
    """Return Host values to try: as received first, then with or without a default port.

    For "h:80" or "h:443" this adds "h". For "h" without a port it adds "h:80" and "h:443".
    Clients disagree on whether a default port is signed (the Python SDK drops 80 and 443
    whatever the scheme) and proxies may rewrite Host, so a gateway can opt into these
    retries. Each extra value loosens what the signature binds.
    """
    name, port = _split_port(host)
    if port is None:
        return [host, f"{host}:80", f"{host}:443"]
    if port in ("80", "443"):
        return [host, name]
    return [host]


def verify_signature(
    authorization: Authorization,
    secret_key: str,
    method: str,
    path: str | bytes,
    raw_query: str | bytes,
    headers: HeaderSource,
    payload_hashes: Sequence[str],
    *,
    host_values: Sequence[str] | None = None,
) -> bool:
    """Return whether the request carries a valid signature for `secret_key`.

    `path` and `raw_query` are the request target as received (ASGI raw_path and
    query_string). `headers` gives the received headers, looked up case-insensitively. For a
    repeated header pass a callable that returns all values (for example Starlette's
    `headers.getlist`), because a Mapping yields only one. Host is the received Host header
    unless `host_values` lists the values to try (see `host_candidates`). Every value in
    `payload_hashes` is tried (see `payload_hash_candidates`). Signatures are compared with
    hmac.compare_digest. The scope's region and service are used as sent; checking them
    against the route is the caller's job. Raise RequestHeaderError if x-jdcloud-date or a
    signed header is missing or invalid.

    NOTE: header values are hashed as UTF-8. Python clients send non-ASCII values as
    Latin-1, which Starlette's Latin-1 decoding matches, but a Go client's UTF-8 would not.
    """
    if isinstance(payload_hashes, str):
        raise TypeError("payload_hashes must be a sequence of hashes, not one string")
    lookup = _as_lookup(headers)
    timestamp = _single_value(lookup(DATE_HEADER))
    if timestamp is None:
        raise RequestHeaderError(f"lack of header {DATE_HEADER}")
    check_request_date(authorization, timestamp)

    version = authorization.version
    key = signing_key(
        secret_key, authorization.date, authorization.region, authorization.service, version
    )
    uri = canonical_uri(path)
    query = canonical_query(raw_query)
    received = authorization.signature.encode()

    for header_lookup in _host_lookups(lookup, authorization.signed_headers, host_values):
        headers_block = canonical_headers(authorization.signed_headers, header_lookup, version)
        for candidate_hash in payload_hashes:
            request = _join_canonical_request(
                method, uri, query, headers_block, authorization.signed_headers, candidate_hash
            )
            expected = compute_signature(
                key,
                string_to_sign(authorization.algorithm, timestamp, authorization.scope, request),
            )
            if hmac.compare_digest(expected.encode(), received):
                return True
    return False


def _single_value(value: HeaderValue | None) -> str | None:
    """Join a repeated header's values with "," as the canonical headers block does."""
    if value is None or isinstance(value, str):
        return value
    return ",".join(value) if value else None


def _host_lookups(
    lookup: HeaderLookup, signed_headers: Sequence[str], host_values: Sequence[str] | None
) -> list[HeaderLookup]:
    if host_values is None or "host" not in signed_headers:
        return [lookup]

    def with_host(host: str) -> HeaderLookup:
        return lambda name: host if name == "host" else lookup(name)

    return [with_host(host) for host in host_values]
