"""Catalog files: reading image records from JSON or JSON Lines, and writing them back.

A catalog file is either a JSON array of image records or JSON Lines (one record per line; blank lines
are skipped). Records are numbered from 1 in the order they appear, and every error names the record
number, the field and the reason, so that a file can be fixed and imported again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import msgspec
from sqlalchemy import Engine

from cocvm.images.default_catalog import default_catalog
from cocvm.images.record import ImageRecord
from cocvm.images.render import render_coc_vm, render_vm
from cocvm.store.writer import ProgressCallback, upsert_images


class CatalogFileError(ValueError):
    """A catalog file or one of its records is invalid."""

    def __init__(self, record_number: int | None, field: str | None, reason: str) -> None:
        self.record_number = record_number
        self.field = field
        self.reason = reason
        where = [] if record_number is None else [f"record {record_number}"]
        if field:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


_NAMED_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `([^`]+)`")
_PATH = re.compile(r" - at `\$(?:\[(\d+)\])?((?:\.[A-Za-z0-9_]+|\[\d+\])*)`$")


def parse_catalog(data: bytes) -> list[ImageRecord]:
    """Parse and validate every record of a catalog file, raising CatalogFileError on the first fault.

    Duplicate imageIds in one file are an error, because which of them should win is not clear.
    """
    stripped = data.lstrip()
    if stripped.startswith(b"["):
        records = _parse_array(data)
    else:
        records = _parse_lines(data)

    first_seen: dict[str, int] = {}
    for number, record in enumerate(records, start=1):
        previous = first_seen.setdefault(record.imageId, number)
        if previous != number:
            raise CatalogFileError(
                number, "imageId", f"'{record.imageId}' repeats record {previous}"
            )
    return records


def _parse_array(data: bytes) -> list[ImageRecord]:
    try:
        return msgspec.json.decode(data, type=list[ImageRecord])
    except msgspec.ValidationError as error:
        raise _validation_error(str(error), record_number=None) from None
    except msgspec.DecodeError as error:
        raise CatalogFileError(None, None, f"not valid JSON: {error}") from None


def _parse_lines(data: bytes) -> list[ImageRecord]:
    decoder = msgspec.json.Decoder(ImageRecord)
    records: list[ImageRecord] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        number = len(records) + 1
        try:
            records.append(decoder.decode(line))
        except msgspec.ValidationError as error:
            raise _validation_error(str(error), record_number=number) from None
        except msgspec.DecodeError as error:
            raise CatalogFileError(number, None, f"not valid JSON: {error}") from None
    return records


def _validation_error(message: str, record_number: int | None) -> CatalogFileError:
    reason, field = message, None
    match = _PATH.search(message)
    if match is not None:
        reason = message[: match.start()]
        if match.group(1) is not None:
            record_number = int(match.group(1)) + 1
        field = match.group(2).lstrip(".") or None
    named = _NAMED_FIELD.match(reason)
    if named is not None:
        nested = named.group(1)
        field = f"{field}.{nested}" if field else nested
    return CatalogFileError(record_number, field, reason)


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
