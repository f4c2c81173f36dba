"""Image records for tests: a valid private record that each test adjusts."""

from __future__ import annotations

from typing import Any

REMOVE = object()
"""An override value that drops the field from the record."""


def make_record(image_id: str, **overrides: Any) -> dict[str, Any]:
    """Return a valid private record with `overrides` applied; REMOVE drops a field."""
    record: dict[str, Any] = {
        "regionId": "cn-north-1",
        "imageId": image_id,
        "name": f"image {image_id}",
        "platform": "Ubuntu",
        "architecture": "x86_64",
        "osType": "linux",
        "imageSource": "private",
        "ownerPin": "alice",
        "createTime": "2024-03-01 08:00:00",
    }
    record.update(overrides)
    return {name: value for name, value in record.items() if value is not REMOVE}
