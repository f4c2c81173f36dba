"""`cocvm images`: import and export of catalog files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from cocvm.cli.i18n import _
from cocvm.cli.options import database_option
from cocvm.images.catalog_file import (
    CatalogFileError,
    import_records,
    parse_catalog,
    write_json_array,
    write_json_lines,
)
from cocvm.store.database import (
    SchemaBehindError,
    create_catalog_engine,
    describe_database_error,
    ensure_schema,
)
from cocvm.store.writer import iter_records


@click.group(help=_("Manage the image catalog."))
def images() -> None:
    pass


@images.command(
    "import",
    help=_(
        "Import image records from a JSON array or JSON Lines FILE ('-' reads standard input). "
        "Records replace stored images with the same imageId. The import is one transaction: "
        "if any record is invalid, nothing is changed."
    ),
)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@database_option
def import_command(file: str, database_url: str) -> None:
    try:
        with click.open_file(file, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise click.ClickException(
            _("Cannot read {path}: {error}").format(path=file, error=error)
        ) from None

    try:
        records = parse_catalog(data)
    except CatalogFileError as error:
        raise click.ClickException(
            _("Import failed, nothing was changed: {error}").format(
                error=describe_catalog_error(error)
            )
        ) from None

    with _open_catalog(database_url, _("Import failed, nothing was changed: {error}")) as engine:
        with _progress(len(records), _("Writing")) as advance:
            import_records(engine, records, advance)
        # The URL as the user wrote it (password masked), not with the driver cocvm picked.
        url = make_url(database_url).render_as_string(hide_password=True)
    template = (
        _("Imported 1 image into {url}.")
        if len(records) == 1
        else _("Imported {count} images into {url}.")
    )
    message = template.format(count=len(records), url=url)
    click.echo(message, err=True)


@images.command(
    "export",
    help=_("Export every image record as JSON Lines (or a JSON array with --format json)."),
)
@database_option
@click.option(
    "--output",
    "-o",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True),
    help=_("Output file; '-' or absent writes to standard output."),
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jsonl", "json"]),
    default="jsonl",
    show_default=True,
    help=_("Output format: jsonl (JSON Lines) or json (one JSON array)."),
)
@click.option("--region", "region_id", default=None, help=_("Export only this region."))
def export_command(
    database_url: str, output: str, output_format: str, region_id: str | None
) -> None:
    write = write_json_array if output_format == "json" else write_json_lines
    with _open_catalog(database_url, _("Export failed: {error}")) as engine:
        try:
            # An output file is written to a temporary name and renamed when complete, so a
            # failed export leaves an existing file as it was.
            with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as stream:
                count = write(iter_records(engine, region_id), stream)
        except BrokenPipeError:
            # The reader of standard output (such as `head`) stopped reading. Stop quietly as other
            # command-line tools do, and keep Python from failing again when it flushes stdout.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(1) from None
        except OSError as error:
            raise click.ClickException(
                _("Cannot write {path}: {error}").format(path=output, error=error)
            ) from None
    click.echo(_("Exported {count} images.").format(count=count), err=True)


def describe_catalog_error(error: CatalogFileError) -> str:
    """Return a catalog file error in the user's language. The reason itself stays in English."""
    location = ""
    if error.record_number is not None and error.line_number is not None:
        location = _("record {record} (line {line})").format(
            record=error.record_number, line=error.line_number
        )
    elif error.record_number is not None:
        location = _("record {record}").format(record=error.record_number)
    elif error.line_number is not None:
        location = _("line {line}").format(line=error.line_number)

    if error.field and location:
        field = _("field '{field}'").format(field=error.field)
        location = _("{location}, {field}").format(location=location, field=field)
    elif error.field:
        location = _("field '{field}'").format(field=error.field)

    if not location:
        return error.reason
    return _("{location}: {reason}").format(location=location, reason=error.reason)


@contextmanager
def _open_catalog(database_url: str, failure_message: str) -> Iterator[Engine]:
    """Open the catalog with a current schema, and report database errors as `failure_message`.

    `failure_message` has an `{error}` placeholder for the database's own message.
    """
    engine: Engine | None = None
    try:
        engine = create_catalog_engine(database_url)
        ensure_schema(engine)
        yield engine
    except SchemaBehindError as error:
        raise click.ClickException(failure_message.format(error=error)) from None
    except SQLAlchemyError as error:
        raise click.ClickException(
            failure_message.format(error=describe_database_error(error))
        ) from None
    finally:
        if engine is not None:
            engine.dispose()


@contextmanager
def _progress(total: int, description: str) -> Iterator[Callable[[int], None] | None]:
    """Show a progress bar on a terminal; elsewhere show nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda count: progress.advance(task, count)
