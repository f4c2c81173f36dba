"""The catalog writer on SQLite and PostgreSQL: upserts, their one transaction, and bulk reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from catalog_records import make_record
from cocvm.images.catalog_file import parse_catalog, to_rows
from cocvm.store.database import create_catalog_engine, ensure_schema
from cocvm.store.schema import image_shares, images
from cocvm.store.writer import BATCH_SIZE, count_images, iter_records, upsert_images


def rows_of(*records: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Validate records as an import does and turn them into rows for the writer."""
    data = b"\n".join(json.dumps(record).encode() for record in records)
    return to_rows(parse_catalog(data))


def write(engine: Engine, *records: dict[str, Any]) -> None:
    rows, shares = rows_of(*records)
    upsert_images(engine, rows, shares)


def stored_names(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        result = connection.execute(select(images.c.image_id, images.c.name))
        return {image_id: name for image_id, name in result}


def stored_shares(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as connection:
        result = connection.execute(select(image_shares.c.image_id, image_shares.c.pin))
        return {(image_id, pin) for image_id, pin in result}


def exported_ids(engine: Engine, region_id: str | None = None) -> list[str]:
    return [json.loads(record)["imageId"] for record in iter_records(engine, region_id)]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A catalog engine on a new SQLite file, then on a new PostgreSQL database."""
    catalog_engine = create_catalog_engine(database_url)
    ensure_schema(catalog_engine)
    yield catalog_engine
    catalog_engine.dispose()


def test_upsert_inserts_images(engine: Engine) -> None:
    write(engine, make_record("img-a1"), make_record("img-a2"))

    assert stored_names(engine) == {"img-a1": "image img-a1", "img-a2": "image img-a2"}


def test_upsert_replaces_by_image_id(engine: Engine) -> None:
    write(engine, make_record("img-a1"), make_record("img-a2"))

    write(engine, make_record("img-a1", name="renamed", regionId="cn-east-2"))

    assert stored_names(engine) == {"img-a1": "renamed", "img-a2": "image img-a2"}
    assert exported_ids(engine, "cn-east-2") == ["img-a1"]
    assert exported_ids(engine, "cn-north-1") == ["img-a2"]


def test_upsert_replaces_every_column(engine: Engine) -> None:
    write(engine, make_record("img-a1", imageSource="private", sharedWith=["bob"]))

    write(engine, make_record("img-a1", imageSource="public", ownerPin="admin", status="error"))

    with engine.connect() as connection:
        row = connection.execute(select(images).where(images.c.image_id == "img-a1")).one()
    assert row.image_source == "public"
    assert row.owner_pin == "admin"
    assert row.status == "error"
    assert row.launch_permission == "all"
    assert json.loads(row.record)["sharedWith"] == []


def test_upsert_replaces_shares(engine: Engine) -> None:
    write(engine, make_record("img-a1", sharedWith=["bob", "carol"]), make_record("img-a2"))

    write(engine, make_record("img-a1", sharedWith=["dave"]))

    assert stored_shares(engine) == {("img-a1", "dave")}


def test_upsert_removes_shares_absent_from_record(engine: Engine) -> None:
    write(engine, make_record("img-a1", sharedWith=["bob"]))

    write(engine, make_record("img-a1"))

    assert stored_shares(engine) == set()


def test_upsert_keeps_shares_of_other_images(engine: Engine) -> None:
    write(
        engine,
        make_record("img-a1", sharedWith=["bob"]),
        make_record("img-a2", sharedWith=["eve"]),
    )

    write(engine, make_record("img-a1", sharedWith=["carol"]))

    assert stored_shares(engine) == {("img-a1", "carol"), ("img-a2", "eve")}


def test_upsert_error_mid_way_writes_nothing(engine: Engine) -> None:
    write(engine, make_record("img-old", sharedWith=["bob"]))
    records = [make_record(f"img-{number}") for number in range(BATCH_SIZE + 500)]
    records.append(make_record("img-old", name="replaced", sharedWith=["carol"]))
    rows, shares = rows_of(*records)
    # A NULL name breaks a NOT NULL column in the second batch, after the first was executed.
    rows[BATCH_SIZE + 100]["name"] = None

    with pytest.raises(IntegrityError):
        upsert_images(engine, rows, shares)

    assert stored_names(engine) == {"img-old": "image img-old"}
    assert stored_shares(engine) == {("img-old", "bob")}


def test_upsert_share_error_writes_nothing(engine: Engine) -> None:
    write(engine, make_record("img-old"))
    rows, shares = rows_of(make_record("img-new"), make_record("img-old", name="replaced"))
    # The shares go in after every image row, and this one names an image that does not exist.
    shares.append({"image_id": "img-missing", "pin": "bob"})

    with pytest.raises(IntegrityError):
        upsert_images(engine, rows, shares)

    assert stored_names(engine) == {"img-old": "image img-old"}


def test_upsert_reports_progress_per_batch(engine: Engine) -> None:
    rows, shares = rows_of(*(make_record(f"img-{number}") for number in range(2 * BATCH_SIZE + 7)))
    reported: list[int] = []

    upsert_images(engine, rows, shares, reported.append)

    assert reported == [BATCH_SIZE, BATCH_SIZE, 7]


def test_upsert_nothing(engine: Engine) -> None:
    upsert_images(engine, [], [])

    assert count_images(engine) == 0


def test_iter_records_order(engine: Engine) -> None:
    write(
        engine,
        make_record("img-b", regionId="cn-north-1", createTime="2024-01-01 00:00:00"),
        make_record("img-a", regionId="cn-north-1", createTime="2024-01-01 00:00:00"),
        make_record("img-c", regionId="cn-north-1", createTime="2025-06-01 00:00:00"),
        make_record("img-d", regionId="cn-east-2", createTime="2020-01-01 00:00:00"),
        make_record("img-e", regionId="cn-south-1", createTime="2030-01-01 00:00:00"),
    )

    assert exported_ids(engine) == ["img-d", "img-c", "img-a", "img-b", "img-e"]


def test_iter_records_region_filter(engine: Engine) -> None:
    write(
        engine,
        make_record("img-a", regionId="cn-north-1"),
        make_record("img-b", regionId="cn-east-2"),
        make_record("img-c", regionId="cn-north-1"),
    )

    assert exported_ids(engine, "cn-north-1") == ["img-a", "img-c"]
    assert exported_ids(engine, "cn-east-2") == ["img-b"]
    assert exported_ids(engine, "cn-south-1") == []


def test_iter_records_yields_stored_record(engine: Engine) -> None:
    write(engine, make_record("img-a", sizeMB=77))

    (record,) = list(iter_records(engine))

    assert json.loads(record)["sizeMB"] == 77
    assert json.loads(record)["status"] == "ready"


def test_iter_records_more_than_one_batch(engine: Engine) -> None:
    write(engine, *(make_record(f"img-{number:05d}") for number in range(BATCH_SIZE + 3)))

    assert len(exported_ids(engine)) == BATCH_SIZE + 3


def test_count_images_includes_deleted(engine: Engine) -> None:
    write(
        engine,
        make_record("img-a"),
        make_record("img-b", status="deleted"),
        make_record("img-c", imageSource="public", ownerPin="admin", offline=True),
    )

    assert count_images(engine) == 3


def test_count_images_empty(engine: Engine) -> None:
    assert count_images(engine) == 0
