"""Catalog files: parsing JSON arrays and JSON Lines, error locations, rows and writers."""

from __future__ import annotations

import io
import json
from typing import Any

import msgspec
import pytest

from catalog_records import make_record
from cocvm.images.catalog_file import (
    CatalogFileError,
    default_records,
    parse_catalog,
    to_rows,
    write_json_array,
    write_json_lines,
)
from cocvm.images.record import ImageRecord


def json_array(records: list[Any]) -> bytes:
    return json.dumps(records, indent=2).encode()


def json_lines(records: list[Any]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def parse_error(data: bytes) -> CatalogFileError:
    with pytest.raises(CatalogFileError) as raised:
        parse_catalog(data)
    return raised.value


def test_parse_catalog_json_array() -> None:
    data = json_array([make_record("img-a1"), make_record("img-a2")])

    records = parse_catalog(data)

    assert [record.imageId for record in records] == ["img-a1", "img-a2"]


def test_parse_catalog_json_array_after_whitespace() -> None:
    data = b"\n  \t" + json_array([make_record("img-a1")])

    records = parse_catalog(data)

    assert [record.imageId for record in records] == ["img-a1"]


def test_parse_catalog_json_lines_skips_blank_lines() -> None:
    lines = [json.dumps(make_record(f"img-l{number}")).encode() for number in range(3)]
    data = b"\n" + lines[0] + b"\n\n   \n" + lines[1] + b"\r\n\t\n" + lines[2]

    records = parse_catalog(data)

    assert [record.imageId for record in records] == ["img-l0", "img-l1", "img-l2"]


def test_parse_catalog_single_object_is_one_line() -> None:
    records = parse_catalog(json.dumps(make_record("img-one")).encode())

    assert [record.imageId for record in records] == ["img-one"]


@pytest.mark.parametrize("encode", [json_array, json_lines])
def test_parse_catalog_ignores_byte_order_mark(encode: Any) -> None:
    data = b"\xef\xbb\xbf" + encode([make_record("img-bom")])

    records = parse_catalog(data)

    assert [record.imageId for record in records] == ["img-bom"]


def test_parse_catalog_keeps_unicode_text() -> None:
    data = json_lines([make_record("img-zh", name="中文镜像", desc="说明")])

    records = parse_catalog(data)

    assert records[0].name == "中文镜像"
    assert records[0].desc == "说明"


@pytest.mark.parametrize("data", [b"", b"   \n\n\t\n", b"[]", b"  [ ]  \n"])
def test_parse_catalog_rejects_file_without_records(data: bytes) -> None:
    error = parse_error(data)

    assert error.record_number is None
    assert error.reason == "the file contains no image records"


def test_parse_catalog_lines_error_location() -> None:
    first, second = make_record("img-a1"), make_record("img-a2", name=5)
    data = json_lines([first]) + b"\n\n" + json_lines([second])

    error = parse_error(data)

    assert error.record_number == 2
    assert error.line_number == 4
    assert error.field == "name"
    assert error.reason == "Expected `str`, got `int`"
    assert str(error) == "record 2 (line 4), field 'name': Expected `str`, got `int`"


def test_parse_catalog_array_error_location() -> None:
    records = [make_record("img-a1"), make_record("img-a2"), make_record("img-a3", sizeMB=-1)]
    data = json_array(records)

    error = parse_error(data)

    assert error.record_number == 3
    assert error.line_number is None
    assert error.field == "sizeMB"
    assert str(error) == "record 3, field 'sizeMB': Expected `int` >= 0"


@pytest.mark.parametrize("encode", [json_array, json_lines])
def test_parse_catalog_names_missing_field(encode: Any) -> None:
    record = make_record("img-a1")
    del record["osType"]

    error = parse_error(encode([record]))

    assert error.record_number == 1
    assert error.field == "osType"
    assert error.reason == "Object missing required field `osType`"


@pytest.mark.parametrize("encode", [json_array, json_lines])
def test_parse_catalog_names_unknown_nested_field(encode: Any) -> None:
    record = make_record("img-a1", snapshots=[{"diskSize": 1}, {"color": "red"}])

    error = parse_error(encode([make_record("img-a0"), record]))

    assert error.record_number == 2
    assert error.field == "snapshots[1].color"
    assert error.reason == "Object contains unknown field `color`"


@pytest.mark.parametrize("encode", [json_array, json_lines])
def test_parse_catalog_names_nested_value_path(encode: Any) -> None:
    record = make_record("img-a1", dataDisks=[{"localDisk": {"diskSizeGB": -2}}])

    error = parse_error(encode([record]))

    assert error.field == "dataDisks[0].localDisk.diskSizeGB"
    assert error.reason == "Expected `int` >= 0"


@pytest.mark.parametrize("encode", [json_array, json_lines])
def test_parse_catalog_names_impossible_date_field(encode: Any) -> None:
    record = make_record("img-a1", createTime="2021-02-30 10:00:00")

    error = parse_error(encode([make_record("img-a0"), record]))

    assert error.record_number == 2
    assert error.field == "createTime"
    assert error.reason.startswith("'2021-02-30 10:00:00' is not a valid date and time")


@pytest.mark.parametrize("encode", [json_array, json_lines])
def test_parse_catalog_names_sharing_field(encode: Any) -> None:
    record = make_record("img-a1", imageSource="public", sharedWith=["bob"])

    error = parse_error(encode([record]))

    assert error.record_number == 1
    assert error.field == "sharedWith"
    assert error.reason.startswith("only private images can be shared")


@pytest.mark.parametrize("encode", [json_array, json_lines])
def test_parse_catalog_rejects_duplicate_image_id(encode: Any) -> None:
    records = [make_record("img-a1"), make_record("img-a2"), make_record("img-a1", name="again")]

    error = parse_error(encode(records))

    assert error.record_number == 3
    assert error.field == "imageId"
    assert error.reason == "'img-a1' repeats record 1"


def test_parse_catalog_bad_record_far_into_array() -> None:
    records = [make_record(f"img-{number}") for number in range(1, 6001)]
    records[4999]["architecture"] = "sparc"

    error = parse_error(json_array(records))

    assert error.record_number == 5000
    assert error.field == "architecture"


def test_parse_catalog_truncated_json_array() -> None:
    data = json_array([make_record("img-a1")])[:-3]

    error = parse_error(data)

    assert error.record_number is None
    assert error.line_number is None
    assert error.reason == "not valid JSON: Input data was truncated"


def test_parse_catalog_malformed_json_array_line() -> None:
    lines = [json.dumps(make_record("img-a1")), json.dumps(make_record("img-a2"))]
    data = ("[\n" + lines[0] + ",\n" + lines[1] + "\n,]\n").encode()

    error = parse_error(data)

    assert error.record_number is None
    assert error.line_number == 4
    assert error.reason.startswith("not valid JSON: JSON is malformed: ")
    assert str(error).startswith("line 4: not valid JSON: ")


def test_parse_catalog_invalid_json_line() -> None:
    data = json_lines([make_record("img-a1")]) + b'{"imageId": "img-a2",\n'

    error = parse_error(data)

    assert error.record_number == 2
    assert error.line_number == 2
    assert error.reason.startswith("not valid JSON: ")


def test_parse_catalog_pretty_printed_object_hint() -> None:
    data = json.dumps(make_record("img-a1"), indent=2).encode()

    error = parse_error(data)

    assert error.line_number == 1
    assert "JSON Lines needs each record on one line" in error.reason


def test_parse_catalog_malformed_line_without_hint() -> None:
    data = json_lines([make_record("img-a1")]) + b'{"imageId": img-a2}\n'

    error = parse_error(data)

    assert error.line_number == 2
    assert error.reason.startswith("not valid JSON: JSON is malformed: ")
    assert "JSON Lines needs each record on one line" not in error.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"42", "Expected `object`, got `int`"),
        (b'"catalog"', "Expected `object`, got `str`"),
        (b"null", "Expected `object`, got `null`"),
        (b"true", "Expected `object`, got `bool`"),
        (b"[1, 2]", "Expected `object`, got `int`"),
        (b'[["img-a1"]]', "Expected `object`, got `array`"),
    ],
)
def test_parse_catalog_rejects_non_object_records(data: bytes, reason: str) -> None:
    error = parse_error(data)

    assert error.record_number == 1
    assert error.reason == reason


def test_catalog_file_error_without_location() -> None:
    error = CatalogFileError(None, None, "the file contains no image records")

    assert str(error) == "the file contains no image records"


def test_to_rows_columns() -> None:
    record = parse_catalog(
        json_lines(
            [
                make_record(
                    "img-row",
                    name="My Ubuntu",
                    platform="Other Linux",
                    distribution="Debian",
                    sharedWith=["bob", "carol"],
                    createTime="1970-01-01 08:00:10",
                )
            ]
        )
    )

    rows, shares = to_rows(record)

    row = rows[0]
    assert row["image_id"] == "img-row"
    assert row["name_folded"] == "my ubuntu"
    assert row["distribution_folded"] == "debian"
    assert row["launch_permission"] == "specifiedUsers"
    assert row["create_time"] == 10
    assert json.loads(row["record"])["distribution"] == "Debian"
    assert json.loads(row["coc_vm_json"])["imageId"] == "img-row"
    assert json.loads(row["vm_json"])["launchPermission"] == "specifiedUsers"
    assert shares == [
        {"image_id": "img-row", "pin": "bob"},
        {"image_id": "img-row", "pin": "carol"},
    ]


def test_to_rows_record_decodes_back() -> None:
    records = parse_catalog(json_lines([make_record("img-back", sizeMB=512)]))

    rows, _ = to_rows(records)

    assert msgspec.json.decode(rows[0]["record"], type=ImageRecord) == records[0]


def test_write_json_lines() -> None:
    output = io.StringIO()

    count = write_json_lines(iter(['{"a":1}', '{"b":2}']), output)

    assert count == 2
    assert output.getvalue() == '{"a":1}\n{"b":2}\n'


def test_write_json_lines_empty() -> None:
    output = io.StringIO()

    count = write_json_lines(iter([]), output)

    assert count == 0
    assert output.getvalue() == ""


def test_write_json_array() -> None:
    output = io.StringIO()

    count = write_json_array(iter(['{"a":1}', '{"b":2}']), output)

    assert count == 2
    assert output.getvalue() == '[\n{"a":1},\n{"b":2}\n]\n'
    assert json.loads(output.getvalue()) == [{"a": 1}, {"b": 2}]


def test_write_json_array_empty() -> None:
    output = io.StringIO()

    count = write_json_array(iter([]), output)

    assert count == 0
    assert output.getvalue() == "[]\n"


def test_write_json_array_parses_back() -> None:
    records = parse_catalog(json_lines([make_record("img-w1"), make_record("img-w2")]))
    rows, _ = to_rows(records)
    output = io.StringIO()

    write_json_array(iter(row["record"] for row in rows), output)

    assert parse_catalog(output.getvalue().encode()) == records


def test_default_records_validate() -> None:
    records = default_records(("cn-north-1",))

    assert records
    assert {record.regionId for record in records} == {"cn-north-1"}
