"""The describeImages requests the benchmark sends: listings of public images.

Every request is for a page of 20 public images. The mix varies the region, the page number and
the platform and architecture filters, so that no single cached row set serves every request.
All but the Ubuntu arm64 requests return a full page of 20 images on both benchmark catalogs.
The requests are anonymous, except in the signed run, which adds the headers that
bench/signed_requests.py makes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from bench.servers import BenchError, Server, http_get

REGIONS = ("cn-north-1", "cn-east-2", "cn-south-1")
QUERIES = (
    "imageSource=public&pageSize=20&pageNumber=1",
    "imageSource=public&pageSize=20&pageNumber=2",
    "imageSource=public&pageSize=20&pageNumber=3",
    "imageSource=public&pageSize=20&platform=CentOS",
    "imageSource=public&pageSize=20&architecture=x86_64",
    "imageSource=public&pageSize=20&architecture=x86_64&pageNumber=2",
    "imageSource=public&pageSize=20&platform=Ubuntu&architecture=arm64",
)
# The reply that stands for a typical describeImages page: the first page of public images.
SAMPLE_PATH = f"/v1/regions/{REGIONS[0]}/images?{QUERIES[0]}"


@dataclass(frozen=True, slots=True)
class Request:
    """One GET request of the mix: its path and query, and headers to send beside wrk's Host."""

    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


class _Result(msgspec.Struct):
    images: list[msgspec.Raw]
    totalCount: int


class _Reply(msgspec.Struct):
    requestId: str
    result: _Result


def request_paths() -> list[str]:
    """Return the request paths of the mix, the regions taking turns."""
    return [f"/v1/regions/{region}/images?{query}" for query in QUERIES for region in REGIONS]


def check_requests(server: Server, requests: Sequence[Request]) -> None:
    """Check that each request returns 200 and a non-empty page, so the load measures real replies.

    Raises BenchError naming the first request that fails.
    """
    for request in requests:
        status, body = http_get(server.port, request.path, request.headers)
        if status != 200:
            raise BenchError(
                f"{server.name} returned HTTP {status} for {request.path}: {body[:300]!r}; "
                f"see {server.log_path}"
            )
        try:
            reply = msgspec.json.decode(body, type=_Reply)
        except msgspec.DecodeError as error:
            raise BenchError(
                f"{server.name} returned an invalid reply for {request.path}: {error}"
            ) from None
        if not reply.result.images:
            raise BenchError(f"{server.name} returned no images for {request.path}")
