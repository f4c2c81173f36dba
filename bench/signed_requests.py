"""Signed describeImages requests for the `--auth strict` run, made once and sent over and over.

JD Cloud's Python SDK (1.6.95 and later) signs a describeImages call with JDCLOUD3-HMAC-SHA256
over the content-type and host headers only, and sends x-jdcloud-date and x-jdcloud-nonce unsigned.
cocvm checks the date against its clock (within 15 minutes by default) and remembers only nonces
that a signature covers. So a request signed this way can be sent again and again, while its date
stays in that window. The benchmark signs each path once, just before the signed run, and wrk
replays those requests. The server still verifies the HMAC on every request.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from bench.queries import Request
from bench.servers import BenchError, Server, http_get
from cocvm.signing import ALGORITHM_V3, sign_request_parts

SERVER_KEY_FILE_VARIABLE = "COCVM_SERVER_KEY_FILE"
SIGNED_HEADER_NAMES = ("content-type", "host")
SERVICE = "vm"
# The Content-Type that JD Cloud's SDKs send on every request, GET included.
CONTENT_TYPE = "application/json"
KEY_COMMAND_TIMEOUT_SECONDS = 60

_REGION_IN_PATH = re.compile(r"^/v1/regions/(?P<region>[^/]+)/")


class AccessKeyPair(msgspec.Struct, frozen=True):
    """An access key as `cocvm keys create --json` prints it."""

    accessKey: str
    secretKey: str
    pin: str


def create_access_key(
    cocvm: Path, database_url: str, pin: str, environment: Mapping[str, str]
) -> AccessKeyPair:
    """Create an access key for `pin` in the database with `cocvm keys create` and return it.

    `environment` is the full environment of the command, which names the server key file.
    Raises BenchError when the command fails or prints no key pair.
    """
    command = [str(cocvm), "keys", "create", "--pin", pin, "--json", "--database", database_url]
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            env=dict(environment),
            timeout=KEY_COMMAND_TIMEOUT_SECONDS,
        )
    except subprocess.CalledProcessError as error:
        raise BenchError(
            f"cocvm keys create failed with code {error.returncode}: "
            f"{error.stderr.decode(errors='replace').strip()}"
        ) from None
    except subprocess.TimeoutExpired:
        raise BenchError(
            f"cocvm keys create timed out after {KEY_COMMAND_TIMEOUT_SECONDS} s"
        ) from None
    try:
        return msgspec.json.decode(completed.stdout, type=AccessKeyPair)
    except msgspec.DecodeError as error:
        raise BenchError(
            f"cocvm keys create --json printed no key pair ({error}): {completed.stdout[:300]!r}"
        ) from None


def sign_requests(paths: Sequence[str], key: AccessKeyPair, host: str) -> list[Request]:
    """Sign a GET of each path as JD Cloud's Python SDK does, for a server reached as `host`.

    `host` is the Host header the requests will carry, such as `127.0.0.1:8000`. The region
    of each signature's credential scope is the one in the path. All requests carry the current
    time, so they pass the server's clock check for as long as its maximum clock skew.
    """
    requests = []
    for path in paths:
        target = urlsplit(path)
        region = _REGION_IN_PATH.match(target.path)
        if region is None:
            raise ValueError(f"request path {path!r} does not start with /v1/regions/REGION/")
        headers = sign_request_parts(
            "GET",
            host,
            target.path,
            target.query,
            {"Content-Type": CONTENT_TYPE},
            b"",
            key.accessKey,
            key.secretKey,
            region.group("region"),
            SERVICE,
            algorithm=ALGORITHM_V3,
            signed_header_names=SIGNED_HEADER_NAMES,
        )
        requests.append(Request(path, headers))
    return requests


def check_signature_required(server: Server, path: str) -> None:
    """Check that the server rejects an unsigned GET of `path` with 401, so it checks signatures.

    Raises BenchError otherwise.
    """
    status, body = http_get(server.port, path)
    if status != 401:
        raise BenchError(
            f"{server.name} returned HTTP {status} for an unsigned request to {path}, not 401, "
            f"so it does not check signatures: {body[:300]!r}; see {server.log_path}"
        )
