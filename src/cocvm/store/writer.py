"""Writes and bulk reads of the catalog: upserting imported images and reading them back for export."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from cocvm.store.schema import image_shares, images

BATCH_SIZE = 2000

ProgressCallback = Callable[[int], None]


def upsert_images(
    engine: Engine,
    rows: Sequence[Mapping[str, Any]],
    shares: Sequence[Mapping[str, str]],
    progress: ProgressCallback | None = None,
) -> None:
    """Insert or replace images by image_id, and replace their sharing, in one transaction.

    `rows` hold every column of the images table; `shares` hold (image_id, pin) pairs for the same
    images. Either every row is written or, on any error, none is. `progress` is called with the
    number of rows written after each batch.
    """
    with engine.begin() as connection:
        upsert_images_in(connection, rows, shares, progress)


def upsert_images_in(
    connection: Connection,
    rows: Sequence[Mapping[str, Any]],
    shares: Sequence[Mapping[str, str]],
    progress: ProgressCallback | None = None,
) -> None:
    """Do what `upsert_images` does inside the caller's transaction."""
    statement = _upsert_statement(connection)
    image_ids = [row["image_id"] for row in rows]

    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        connection.execute(statement, list(batch))
        connection.execute(
            delete(image_shares).where(
                image_shares.c.image_id.in_(image_ids[start : start + BATCH_SIZE])
            )
        )
        if progress is not None:
            progress(len(batch))

    if shares:
        connection.execute(insert(image_shares), list(shares))


def _upsert_statement(connection: Connection) -> Any:
    dialect_name = connection.dialect.name
    if dialect_name == "sqlite":
        statement = sqlite.insert(images)
    elif dialect_name == "postgresql":
        statement = postgresql.insert(images)
    else:
        raise ValueError(f"unsupported database dialect: {dialect_name}")
    updated = {column.name: statement.excluded[column.name] for column in images.columns}
    del updated["image_id"]
    return statement.on_conflict_do_update(index_elements=["image_id"], set_=updated)


def iter_records(engine: Engine, region_id: str | None = None) -> Iterator[str]:
    """Yield the stored record JSON of every image, by region, then newest first, then image_id."""
    statement = select(images.c.record).order_by(
        images.c.region_id, images.c.create_time.desc(), images.c.image_id
    )
    if region_id is not None:
        statement = statement.where(images.c.region_id == region_id)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=BATCH_SIZE).execute(statement)
        for (record,) in result:
            yield record


def count_images(engine: Engine) -> int:
    """Return how many images the catalog holds, deleted ones included."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(images)).scalar_one())
