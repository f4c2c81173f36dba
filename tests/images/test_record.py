"""The image record: field types, allowed values, defaults and the checks that span fields."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from cocvm.images.record import ImageRecord, field_error


def record_fields(**overrides: Any) -> dict[str, Any]:
    """Return the required fields of a valid private record, with `overrides` applied."""
    fields: dict[str, Any] = {
        "regionId": "cn-north-1",
        "imageId": "img-test1",
        "name": "Ubuntu 22.04",
        "platform": "Ubuntu",
        "architecture": "x86_64",
        "osType": "linux",
        "imageSource": "private",
        "ownerPin": "alice",
        "createTime": "2024-03-01 08:00:00",
    }
    fields.update(overrides)
    return fields


def decode(fields: dict[str, Any]) -> ImageRecord:
    return msgspec.json.decode(json.dumps(fields).encode(), type=ImageRecord)


def decode_error(fields: dict[str, Any]) -> str:
    with pytest.raises(msgspec.ValidationError) as raised:
        decode(fields)
    return str(raised.value)


def test_record_defaults() -> None:
    record = decode(record_fields())

    assert record.distribution == "Ubuntu"
    assert record.osVersion == ""
    assert record.systemDiskSizeGB == 40
    assert record.sizeMB == 0
    assert record.status == "ready"
    assert record.desc == ""
    assert record.partnerImageId == ""
    assert record.snapshots == []
    assert record.offline is False
    assert record.sharedWith == []
    assert record.loginName == ""
    assert record.rootDeviceType == "cloudDisk"
    assert record.bootMode == "bios"
    assert record.progress == "100"
    assert record.imported is False
    assert record.systemDisk is None
    assert record.dataDisks == []
    assert record.chargeInfo is None


def test_record_distribution_kept_when_given() -> None:
    record = decode(record_fields(platform="Other Linux", distribution="Debian"))

    assert record.distribution == "Debian"


def test_record_empty_distribution_defaults_to_platform() -> None:
    record = decode(record_fields(platform="CentOS", distribution=""))

    assert record.distribution == "CentOS"


def test_record_shared_with_deduplicated_in_order() -> None:
    record = decode(record_fields(sharedWith=["carol", "bob", "carol", "alice", "bob"]))

    assert record.sharedWith == ["carol", "bob", "alice"]


@pytest.mark.parametrize(
    ("create_time", "timestamp"),
    [
        ("1970-01-01 08:00:00", 0),
        ("2024-03-01 08:00:00", 1709251200),
        ("2024-02-29 23:59:59", 1709222399),
    ],
)
def test_record_create_timestamp_in_china_standard_time(create_time: str, timestamp: int) -> None:
    record = decode(record_fields(createTime=create_time))

    assert record.create_timestamp == timestamp


@pytest.mark.parametrize(
    ("image_source", "shared_with", "permission"),
    [
        ("public", [], "all"),
        ("thirdparty", [], "all"),
        ("community", [], "all"),
        ("private", [], "ownerOnly"),
        ("private", ["bob"], "specifiedUsers"),
    ],
)
def test_record_launch_permission(
    image_source: str, shared_with: list[str], permission: str
) -> None:
    record = decode(record_fields(imageSource=image_source, sharedWith=shared_with))

    assert record.launch_permission == permission


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("architecture", "x86", "Invalid enum value 'x86'"),
        ("architecture", "X86_64", "Invalid enum value 'X86_64'"),
        ("imageSource", "shared", "Invalid enum value 'shared'"),
        ("osType", "macos", "Invalid enum value 'macos'"),
        ("status", "gone", "Invalid enum value 'gone'"),
        ("rootDeviceType", "ssd", "Invalid enum value 'ssd'"),
        ("bootMode", "efi", "Invalid enum value 'efi'"),
        ("imageId", "IMG-1", "matching regex"),
        ("imageId", "img-", "matching regex"),
        ("imageId", "img-ABC", "matching regex"),
        ("imageId", "img-" + "a" * 61, "matching regex"),
        ("regionId", "CN-North-1", "matching regex"),
        ("createTime", "2024-03-01T08:00:00", "matching regex"),
        ("createTime", "2024-3-1 08:00:00", "matching regex"),
        ("createTime", "2024-03-01 08:00", "matching regex"),
        ("createTime", "2024-03-01 08:00:00+08:00", "matching regex"),
        ("sizeMB", -1, "Expected `int` >= 0"),
        ("systemDiskSizeGB", -1, "Expected `int` >= 0"),
        ("sizeMB", 2**53 + 1, "Expected `int` <= 9007199254740992"),
        ("sizeMB", 1.5, "Expected `int`, got `float`"),
        ("sizeMB", "10", "Expected `int`, got `str`"),
        ("offline", "yes", "Expected `bool`, got `str`"),
        ("name", "", "Expected `str` of length >= 1"),
        ("name", "n" * 256, "Expected `str` of length <= 255"),
        ("name", None, "Expected `str`, got `null`"),
        ("ownerPin", "", "Expected `str` of length >= 1"),
        ("progress", "1000", "matching regex"),
        ("sharedWith", "bob", "Expected `array`, got `str`"),
        ("sharedWith", [""], "Expected `str` of length >= 1"),
    ],
)
def test_record_rejects_invalid_value(field: str, value: Any, reason: str) -> None:
    message = decode_error(record_fields(**{field: value}))

    assert reason in message
    assert f"- at `$.{field}" in message


@pytest.mark.parametrize("field", ["regionId", "imageId", "name", "ownerPin", "createTime"])
def test_record_requires_field(field: str) -> None:
    fields = record_fields()
    del fields[field]

    message = decode_error(fields)

    assert message == f"Object missing required field `{field}`"


def test_record_rejects_unknown_field() -> None:
    message = decode_error(record_fields(colour="red"))

    assert message == "Object contains unknown field `colour`"


def test_record_rejects_unknown_nested_field() -> None:
    message = decode_error(record_fields(snapshots=[{"diskSize": 1, "size": 2}]))

    assert message == "Object contains unknown field `size` - at `$.snapshots[0]`"


def test_record_rejects_negative_nested_size() -> None:
    message = decode_error(record_fields(dataDisks=[{"localDisk": {"diskSizeGB": -1}}]))

    assert message == "Expected `int` >= 0 - at `$.dataDisks[0].localDisk.diskSizeGB`"


@pytest.mark.parametrize(
    ("create_time", "cause"),
    [
        ("2021-02-30 08:00:00", "day is out of range for month"),
        ("2023-02-29 08:00:00", "day is out of range for month"),
        ("2021-13-01 08:00:00", "month must be in 1..12"),
        ("2021-00-10 08:00:00", "month must be in 1..12"),
        ("2021-01-01 24:00:00", "hour must be in 0..23"),
        ("2021-01-01 23:60:00", "minute must be in 0..59"),
        ("2021-01-01 23:59:60", "second must be in 0..59"),
        ("0000-01-01 00:00:00", "year 0 is out of range"),
    ],
)
def test_record_rejects_impossible_create_time(create_time: str, cause: str) -> None:
    message = decode_error(record_fields(createTime=create_time))

    assert message.startswith(f"field `createTime`: '{create_time}' is not a valid date and time")
    assert cause in message


def test_record_accepts_leap_day() -> None:
    record = decode(record_fields(createTime="2024-02-29 12:00:00"))

    assert record.createTime == "2024-02-29 12:00:00"


@pytest.mark.parametrize("image_source", ["public", "thirdparty", "community"])
def test_record_rejects_sharing_listed_image(image_source: str) -> None:
    message = decode_error(record_fields(imageSource=image_source, sharedWith=["bob"]))

    assert message.startswith("field `sharedWith`: only private images can be shared")
    assert f"imageSource is '{image_source}'" in message


def test_record_accepts_empty_sharing_on_public_image() -> None:
    record = decode(record_fields(imageSource="public", sharedWith=[]))

    assert record.launch_permission == "all"


def test_record_encodes_every_field() -> None:
    record = decode(record_fields(sharedWith=["bob"], osVersion="22.04"))

    encoded = json.loads(msgspec.json.encode(record))

    assert set(encoded) == set(ImageRecord.__struct_fields__)
    assert encoded["distribution"] == "Ubuntu"
    assert encoded["sharedWith"] == ["bob"]


def test_record_round_trips_through_json() -> None:
    record = decode(
        record_fields(
            snapshots=[{"diskSnapshotId": "snap-1", "diskSize": 40}],
            systemDisk={"diskCategory": "cloud", "cloudDisk": {"diskSizeGB": 40}},
            chargeInfo={"serviceCode": "market", "formula": ["a"]},
        )
    )

    again = msgspec.json.decode(msgspec.json.encode(record), type=ImageRecord)

    assert again == record


def test_field_error_message_form() -> None:
    error = field_error("createTime", "is wrong")

    assert str(error) == "field `createTime`: is wrong"
