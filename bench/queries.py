"""The describeImages requests the benchmark sends: anonymous listings of public images.

Every request is for a page of 20 public images. The mix varies the region, the page number and
the platform and architecture filters, so that no single cached row set serves every request.
All but the Ubuntu arm64 requests return a full page of 20 images on both benchmark catalogs.
"""

from __future__ import annotations

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


class _Result(msgspec.Struct):
    images: list[msgspec.Raw]
    totalCount: int


class _Reply(msgspec.Struct):
    requestId: str
    result: _Result


def request_paths() -> list[str]:
    """Return the request paths of the mix, the regions taking turns."""
    return [f"/v1/regions/{region}/images?{query}" for query in QUERIES for region in REGIONS]


def check_paths(server: Server, paths: list[str]) -> None:
    """Check that each path returns 200 and a non-empty page, so the load measures real replies.

    Raises BenchError naming the first path that fails.
    """
    for path in paths:
        status, body = http_get(server.port, path)
        if status != 200:
            raise BenchError(
                f"{server.name} returned HTTP {status} for {path}: {body[:300]!r}; "
                f"see {server.log_path}"
            )
        try:
            reply = msgspec.json.decode(body, type=_Reply)
        except msgspec.DecodeError as error:
            raise BenchError(
                f"{server.name} returned an invalid reply for {path}: {error}"
            ) from None
        if not reply.result.images:
            raise BenchError(f"{server.name} returned no images for {path}")
