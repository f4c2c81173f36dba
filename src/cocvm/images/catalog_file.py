"""Catalog files: reading image records from JSON or JSON Lines, and writing them back.

A catalog file is either a JSON array of image records or JSON Lines (one record per line, blank
lines skipped). Records are numbered from 1 in the order they appear, and every error names the
record number, the field and the reason, so that a file can be fixed and imported again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, get_args

import msgspec
from sqlalchemy import Engine

from cocvm.images.default_catalog import default_catalog
from cocvm.images.record import (
    Architecture,
    BootMode,
    ImageRecord,
    ImageSource,
    OsType,
    RootDeviceType,
    Status,
)
from cocvm.images.render import render_coc_vm, render_vm
from cocvm.store.writer import ProgressCallback, upsert_images


class CatalogFileError(ValueError):
    """A catalog file or one of its records is invalid.

    `record_number` counts records from 1 (None when the fault is not in one record), `line_number`
    is the line of the fault when it is known, and `field` is the field's path inside the record,
    such as `snapshots[0].diskSize`.
    """

    def __init__(
        self,
        record_number: int | None,
        field: str | None,
        reason: str,
        line_number: int | None = None,
    ) -> None:
        self.record_number = record_number
        self.line_number = line_number
        self.field = field
        self.reason = reason
        where = []
        if record_number is not None:
            line = "" if line_number is None else f" (line {line_number})"
            where.append(f"record {record_number}{line}")
        elif line_number is not None:
            where.append(f"line {line_number}")
        if field:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


_UTF8_BOM = b"\xef\xbb\xbf"
_NAMED_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `([^`]+)`")
# The form of the errors that ImageRecord.__post_init__ raises (see record.field_error).
_POST_INIT_FIELD = re.compile(r"field `([^`]+)`: ", re.DOTALL)
_PATH = re.compile(r" - at `\$(?:\[(\d+)\])?((?:\.[A-Za-z0-9_]+|\[\d+\])*)`$")
_BYTE_OFFSET = re.compile(r"\(byte (\d+)\)$")


def parse_catalog(data: bytes) -> list[ImageRecord]:
    """Parse and validate a catalog file's records, raising CatalogFileError at the first fault.

    A file without any record is an error, and so are duplicate imageIds in one file, because which
    of them should win is not clear. A UTF-8 byte order mark at the start is ignored.
    """
    data = data.removeprefix(_UTF8_BOM)
    line_numbers: list[int] | None = None
    if data.lstrip().startswith(b"["):
        records = _parse_array(data)
    else:
        records, line_numbers = _parse_lines(data)
    if not records:
        raise CatalogFileError(None, None, "the file contains no image records")

    first_seen: dict[str, int] = {}
    for number, record in enumerate(records, start=1):
        previous = first_seen.setdefault(record.imageId, number)
        if previous != number:
            line_number = None if line_numbers is None else line_numbers[number - 1]
            raise CatalogFileError(
                number, "imageId", f"'{record.imageId}' repeats record {previous}", line_number
            )
    return records


def _parse_array(data: bytes) -> list[ImageRecord]:
    try:
        return msgspec.json.decode(data, type=list[ImageRecord])
    except msgspec.ValidationError as error:
        raise _validation_error(str(error), record_number=None) from None
    except msgspec.DecodeError as error:
        # msgspec names the byte where the JSON broke, and a line is easier to find in an editor.
        offset = _BYTE_OFFSET.search(str(error))
        line_number = None if offset is None else data.count(b"\n", 0, int(offset.group(1))) + 1
        raise CatalogFileError(None, None, f"not valid JSON: {error}", line_number) from None


def _parse_lines(data: bytes) -> tuple[list[ImageRecord], list[int]]:
    """Return the records of a JSON Lines file and the line number of each."""
    decoder = msgspec.json.Decoder(ImageRecord)
    records: list[ImageRecord] = []
    line_numbers: list[int] = []
    for line_number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        number = len(records) + 1
        try:
            records.append(decoder.decode(line))
            line_numbers.append(line_number)
        except msgspec.ValidationError as error:
            raise _validation_error(str(error), number, line_number) from None
        except msgspec.DecodeError as error:
            reason = f"not valid JSON: {error}"
            if "truncated" in reason:
                # The usual cause is a record written over several lines.
                reason += ". JSON Lines needs each record on one line."
            raise CatalogFileError(number, None, reason, line_number) from None
    return records, line_numbers


def _validation_error(
    message: str, record_number: int | None, line_number: int | None = None
) -> CatalogFileError:
    """Turn msgspec's "REASON - at `$[3].snapshots[0].diskSize`" into a CatalogFileError."""
    reason, field = message, None
    match = _PATH.search(message)
    if match is not None:
        reason = message[: match.start()]
        if match.group(1) is not None:
            record_number = int(match.group(1)) + 1
        field = match.group(2).lstrip(".") or None

    named = _NAMED_FIELD.match(reason)
    post_init = _POST_INIT_FIELD.match(reason)
    if named is not None:
        nested = named.group(1)
        field = f"{field}.{nested}" if field else nested
    elif post_init is not None:
        nested = post_init.group(1)
        field = f"{field}.{nested}" if field else nested
        reason = reason[post_init.end() :]
    return CatalogFileError(record_number, field, _explained(reason, field), line_number)


# The expected format of fields whose msgspec errors quote a regular expression.
_FIELD_FORMATS = {
    "imageId": "expected `img-` followed by 1 to 60 lowercase letters or digits",
    "regionId": "expected lowercase letters, digits and `-`, such as cn-north-1",
    "createTime": "expected YYYY-MM-DD HH:MM:SS in China Standard Time (UTC+8)",
    "progress": 'expected a string of up to 3 digits, such as "100"',
}


_ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "architecture": get_args(Architecture),
    "bootMode": get_args(BootMode),
    "imageSource": get_args(ImageSource),
    "osType": get_args(OsType),
    "rootDeviceType": get_args(RootDeviceType),
    "status": get_args(Status),
}


def _explained(reason: str, field: str | None) -> str:
    """Add the allowed values or the expected format to msgspec's terse reasons."""
    if field is None:
        return reason
    if reason.startswith("Invalid enum value"):
        allowed = _ALLOWED_VALUES.get(field)
        if allowed:
            return f"{reason}; allowed values: {', '.join(allowed)}"
    if "matching regex" in reason and field in _FIELD_FORMATS:
        return f"invalid value: {_FIELD_FORMATS[field]}"
    return reason


def to_rows(records: Iterable[ImageRecord]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Turn records into rows of the images table and (image_id, pin) rows of image_shares."""
    encoder = msgspec.json.Encoder()
    rows: list[dict[str, Any]] = []
    shares: list[dict[str, str]] = []
    for record in records:
        rows.append(
            {
                "image_id": record.imageId,
                "region_id": record.regionId,
                "image_source": record.imageSource,
                "owner_pin": record.ownerPin,
                "name": record.name,
                "name_folded": record.name.casefold(),
                "distribution_folded": record.distribution.casefold(),
                "architecture": record.architecture,
                "status": record.status,
                "offline": record.offline,
                "root_device_type": record.rootDeviceType,
                "launch_permission": record.launch_permission,
                "boot_mode": record.bootMode,
                "service_code": record.serviceCode,
                "instance_id": record.instanceId,
                "create_time": record.create_timestamp,
                "record": encoder.encode(record).decode(),
                "coc_vm_json": render_coc_vm(record),
                "vm_json": render_vm(record),
            }
        )
        shares.extend({"image_id": record.imageId, "pin": pin} for pin in record.sharedWith)
    return rows, shares


def write_json_lines(records: Iterator[str], output: IO[str]) -> int:
    """Write stored record JSON as JSON Lines and return how many records were written."""
    count = 0
    for record in records:
        output.write(record)
        output.write("\n")
        count += 1
    return count


def write_json_array(records: Iterator[str], output: IO[str]) -> int:
    """Write stored record JSON as one JSON array, a record per line, and return the count."""
    count = 0
    output.write("[")
    for record in records:
        output.write(",\n" if count else "\n")
        output.write(record)
        count += 1
    output.write("\n]\n" if count else "]\n")
    return count


def import_records(
    engine: Engine, records: Sequence[ImageRecord], progress: ProgressCallback | None = None
) -> None:
    """Upsert records into the catalog in one transaction: all of them, or none on error."""
    rows, shares = to_rows(records)
    upsert_images(engine, rows, shares, progress)


def default_records(regions: Sequence[str]) -> list[ImageRecord]:
    """Return the shipped default catalog for these regions, validated like an imported file."""
    return msgspec.convert(default_catalog(regions), list[ImageRecord])
