"""Helpers for the tests that drive cocvm through JD Cloud's official clients.

The clients live in virtual environments that `scripts/install-clients.sh` creates under
`.clients/`, and `make test` runs that script before pytest.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cocvm.images.catalog_file import default_records
from conftest import RunningServer, run_cocvm

REPOSITORY = Path(__file__).resolve().parents[2]
JDC = REPOSITORY / ".clients" / "jdc" / "bin" / "jdc"
SDK_V2_PYTHON = REPOSITORY / ".clients" / "sdk-v2" / "bin" / "python"

REGION = "cn-north-1"
REQUEST_ID = re.compile(r"^[0-9a-z]{32}$")


def require_client(path: Path) -> Path:
    """Return `path`, or fail the test when the client is not installed."""
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/install-clients.sh before these tests")
    return path


def unique_pin(prefix: str) -> str:
    """Return a pin that no other test uses, so that tests can share one server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def private_image(
    owner_pin: str,
    create_time: str,
    *,
    shared_with: Sequence[str] = (),
) -> dict[str, Any]:
    """Build an import record for a private CentOS image of `owner_pin` with a fresh id."""
    image_id = f"img-{uuid.uuid4().hex}"
    return {
        "regionId": REGION,
        "imageId": image_id,
        "name": f"private {image_id}",
        "platform": "CentOS",
        "architecture": "x86_64",
        "osType": "linux",
        "imageSource": "private",
        "ownerPin": owner_pin,
        "createTime": create_time,
        "sharedWith": list(shared_with),
    }


def import_images(server: RunningServer, records: Sequence[dict[str, Any]]) -> None:
    """Import image records into the server's catalog with `cocvm images import`."""
    lines = "".join(json.dumps(record) + "\n" for record in records)
    imported = run_cocvm(
        "images",
        "import",
        "-",
        "--database",
        server.database_url,
        input_bytes=lines.encode("utf-8"),
        env=server.environment,
    )
    assert imported.returncode == 0, imported.stderr.decode()


def image_ids(records: Sequence[dict[str, Any]]) -> list[str]:
    """Return the ids of image records or rendered images, in their order."""
    return [str(record["imageId"]) for record in records]


def listed_public_ids(*, platform: str | None = None, architecture: str | None = None) -> list[str]:
    """Return the ids of the default catalog's listed public images in REGION, in listing order.

    Listed means not offline and not deleted. `platform` matches the OS distribution without
    regard to case. The order is the server's: createTime newest first, then imageId ascending.
    """
    records = [
        record
        for record in default_records((REGION,))
        if record.imageSource == "public"
        and not record.offline
        and record.status != "deleted"
        and (platform is None or record.distribution.lower() == platform.lower())
        and (architecture is None or record.architecture == architecture)
    ]
    records.sort(key=lambda record: (-record.create_timestamp, record.imageId))
    return [record.imageId for record in records]


def public_image_id(name: str) -> str:
    """Return the id of the default catalog's public image called `name` in REGION."""
    matches = [
        record.imageId
        for record in default_records((REGION,))
        if record.imageSource == "public" and record.name == name
    ]
    assert len(matches) == 1, f"the default catalog has {len(matches)} images named {name!r}"
    return matches[0]
