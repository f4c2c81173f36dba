"""The describeImages query: which images match, and the SQL that finds them.

An `ImageQuery` names the filters of one request. The SQL for it depends only on which filters are
set (and how many ids), not on their values. So each shape is built with SQLAlchemy Core and
compiled once per dialect, then reused with fresh bind values, and no SQL is compiled on the
request path after warm-up.

Paging method: `ORDER BY create_time DESC, image_id ASC` with LIMIT/OFFSET. image_id is unique, so
the order is total and pages neither overlap nor skip an image while the catalog is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from cocvm.store.schema import image_shares, images

# Sources that every caller may see. `offline` applies to the first two only.
OPEN_SOURCES = ("public", "thirdparty", "community")
DELISTABLE_SOURCES = ("public", "thirdparty")

DocumentColumn = Literal["coc_vm_json", "vm_json"]


@dataclass(frozen=True, slots=True)
class ImageQuery:
    """The filters of one describeImages request, already validated and resolved for its caller.

    An image is visible when its source is in `sources`, or it is private and owned by
    `owner_pin`, or it is private and shared with `shared_with_pin`. Every other field narrows the
    result (AND).
    """

    region_id: str
    document: DocumentColumn
    limit: int
    offset: int
    sources: tuple[str, ...] = ()
    owner_pin: str | None = None
    shared_with_pin: str | None = None
    ids: tuple[str, ...] = ()
    offline: bool | None = None
    distribution_folded: str | None = None
    name: str | None = None
    name_contains_folded: str | None = None
    architecture: str | None = None
    status: str | None = None
    root_device_type: str | None = None
    launch_permission: str | None = None
    boot_mode: str | None = None
    service_code: str | None = None
    instance_ids: tuple[str, ...] = ()

    def shape(self) -> tuple[Any, ...]:
        """Return what the SQL depends on: which filters are set, and how many ids."""
        return (
            self.document,
            self.sources,
            self.owner_pin is not None,
            self.shared_with_pin is not None,
            len(self.ids),
            self.offline is not None,
            self.distribution_folded is not None,
            self.name is not None,
            self.name_contains_folded is not None,
            self.architecture is not None,
            self.status is not None,
            self.root_device_type is not None,
            self.launch_permission is not None,
            self.boot_mode is not None,
            self.service_code is not None,
            len(self.instance_ids),
        )

    def bind_values(self) -> dict[str, Any]:
        """Return the values for the bind parameters that `build_statements` names."""
        values: dict[str, Any] = {
            "region_id": self.region_id,
            "owner_pin": self.owner_pin,
            "shared_with_pin": self.shared_with_pin,
            "offline": self.offline,
            "distribution_folded": self.distribution_folded,
            "name": self.name,
            "name_contains_folded": self.name_contains_folded,
            "architecture": self.architecture,
            "status": self.status,
            "root_device_type": self.root_device_type,
            "launch_permission": self.launch_permission,
            "boot_mode": self.boot_mode,
            "service_code": self.service_code,
            "limit": self.limit,
            "offset": self.offset,
        }
        for index, image_id in enumerate(self.ids):
            values[f"id_{index}"] = image_id
        for index, instance_id in enumerate(self.instance_ids):
            values[f"instance_id_{index}"] = instance_id
        return values


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """SQL text for one query shape in one dialect, with its positional parameter names.

    `combined_sql` returns the count and the page in one statement (one snapshot, one round trip):
    one row per image of the page, each with the total, or a single row with a NULL document when
    the page is empty.
    """

    count_sql: str
    count_parameters: tuple[str, ...]
    page_sql: str
    page_parameters: tuple[str, ...]
    combined_sql: str
    combined_parameters: tuple[str, ...]

    def count_arguments(self, values: dict[str, Any]) -> list[Any]:
        """Order bind values for the count statement."""
        return [values[name] for name in self.count_parameters]

    def page_arguments(self, values: dict[str, Any]) -> list[Any]:
        """Order bind values for the page statement."""
        return [values[name] for name in self.page_parameters]

    def combined_arguments(self, values: dict[str, Any]) -> list[Any]:
        """Order bind values for the combined statement."""
        return [values[name] for name in self.combined_parameters]


class QueryCompiler:
    """Compiles and caches the SQL of each query shape for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._cache: dict[tuple[Any, ...], CompiledQuery] = {}

    def compile(self, query: ImageQuery) -> CompiledQuery:
        """Return the SQL for the query's shape, compiling it on first use."""
        shape = query.shape()
        compiled = self._cache.get(shape)
        if compiled is None:
            count_statement, page_statement = build_statements(query)
            count = count_statement.compile(dialect=self._dialect)
            page = page_statement.compile(dialect=self._dialect)
            combined = build_combined_statement(query).compile(dialect=self._dialect)
            compiled = CompiledQuery(
                count_sql=count.string,
                count_parameters=_parameter_order(count),
                page_sql=page.string,
                page_parameters=_parameter_order(page),
                combined_sql=combined.string,
                combined_parameters=_parameter_order(combined),
            )
            self._cache[shape] = compiled
        return compiled


def build_statements(query: ImageQuery) -> tuple[Any, Any]:
    """Build the count and page statements for the query's shape, with named bind parameters."""
    conditions = _conditions(query)
    count_statement = select(func.count()).select_from(images).where(*conditions)
    page_statement = (
        select(images.c[query.document])
        .where(*conditions)
        .order_by(images.c.create_time.desc(), images.c.image_id.asc())
        .limit(bindparam("limit", type_=images.c.create_time.type))
        .offset(bindparam("offset", type_=images.c.create_time.type))
    )
    return count_statement, page_statement


def build_combined_statement(query: ImageQuery) -> Any:
    """Build one statement that returns the total and the page: the count LEFT JOIN LATERAL page."""
    conditions = _conditions(query)
    total = (
        select(func.count().label("total")).select_from(images).where(*conditions).subquery("total")
    )
    page = (
        select(images.c[query.document].label("document"), images.c.create_time, images.c.image_id)
        .where(*conditions)
        .order_by(images.c.create_time.desc(), images.c.image_id.asc())
        .limit(bindparam("limit", type_=images.c.create_time.type))
        .offset(bindparam("offset", type_=images.c.create_time.type))
        .subquery("page")
        .lateral("page")
    )
    return (
        select(total.c.total, page.c.document)
        .select_from(total.outerjoin(page, true()))
        .order_by(page.c.create_time.desc(), page.c.image_id.asc())
    )


def _parameter_order(compiled: Any) -> tuple[str, ...]:
    # Positional dialects list every placeholder; numbered ones ($1) list each name once.
    return tuple(compiled.positiontup or ())


def _conditions(query: ImageQuery) -> list[ColumnElement[bool]]:
    column = images.c
    conditions: list[ColumnElement[bool]] = [
        column.region_id == bindparam("region_id"),
        column.status != _constant("deleted"),
        _visibility(query),
    ]

    if query.ids:
        conditions.append(column.image_id.in_(_bind_list("id", len(query.ids))))
    if query.offline is not None:
        conditions.append(_offline_condition(query))

    optional_equalities = (
        ("distribution_folded", query.distribution_folded),
        ("name", query.name),
        ("architecture", query.architecture),
        ("status", query.status),
        ("root_device_type", query.root_device_type),
        ("launch_permission", query.launch_permission),
        ("boot_mode", query.boot_mode),
        ("service_code", query.service_code),
    )
    for name, value in optional_equalities:
        if value is not None:
            conditions.append(column[name] == bindparam(name))

    if query.name_contains_folded is not None:
        # A position test, not LIKE, so that `%`, `_` and `*` in the value are literal characters.
        conditions.append(
            Position(column.name_folded, bindparam("name_contains_folded")) > literal_column("0")
        )
    if query.instance_ids:
        conditions.append(
            column.instance_id.in_(_bind_list("instance_id", len(query.instance_ids)))
        )
    return conditions


def _visibility(query: ImageQuery) -> ColumnElement[bool]:
    column = images.c
    alternatives: list[ColumnElement[bool]] = []
    if query.sources:
        alternatives.append(column.image_source.in_(_constants(query.sources)))
    if query.owner_pin is not None:
        alternatives.append(
            and_(
                column.image_source == _constant("private"),
                column.owner_pin == bindparam("owner_pin"),
            )
        )
    if query.shared_with_pin is not None:
        shared_ids = select(image_shares.c.image_id).where(
            image_shares.c.pin == bindparam("shared_with_pin")
        )
        alternatives.append(
            and_(
                column.image_source == _constant("private"),
                column.owner_pin != bindparam("shared_with_pin"),
                column.image_id.in_(shared_ids),
            )
        )
    if not alternatives:
        return false()
    return alternatives[0] if len(alternatives) == 1 else or_(*alternatives)


def _offline_condition(query: ImageQuery) -> ColumnElement[bool]:
    column = images.c
    matches_offline = column.offline == bindparam("offline")
    only_delistable = (
        query.sources
        and set(query.sources) <= set(DELISTABLE_SOURCES)
        and query.owner_pin is None
        and query.shared_with_pin is None
    )
    if only_delistable:
        return matches_offline
    return or_(column.image_source.not_in(_constants(DELISTABLE_SOURCES)), matches_offline)


class Position(FunctionElement[int]):
    """The 1-based position of a substring in a string, 0 when it is absent."""

    type = Integer()
    inherit_cache = True
    name = "position"


@compiles(Position, "sqlite")
def _position_sqlite(element: Position, compiler: Any, **kwargs: Any) -> str:
    haystack, needle = element.clauses
    return f"instr({compiler.process(haystack, **kwargs)}, {compiler.process(needle, **kwargs)})"


@compiles(Position, "postgresql")
def _position_postgresql(element: Position, compiler: Any, **kwargs: Any) -> str:
    haystack, needle = element.clauses
    return f"strpos({compiler.process(haystack, **kwargs)}, {compiler.process(needle, **kwargs)})"


def _constant(value: str) -> ColumnElement[str]:
    # Constants go into the SQL text so that the only bind parameters are the request's values.
    # They come from this module's own tuples, never from a request.
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not a safe SQL constant: {value!r}")
    return literal_column(f"'{value}'")


def _constants(values: Sequence[str]) -> list[ColumnElement[str]]:
    return [_constant(value) for value in values]


def _bind_list(prefix: str, count: int) -> Sequence[Any]:
    return [bindparam(f"{prefix}_{index}") for index in range(count)]
