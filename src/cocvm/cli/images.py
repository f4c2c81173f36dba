"""`cocvm images`: import and export of catalog files."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
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
from cocvm.store.database import SchemaBehindError, create_catalog_engine, ensure_schema
from cocvm.store.writer import iter_records


@click.group(help=_("Manage the image catalog."))
def images() -> None:
    pass


@images.command(
    "import",
    help=_("Import image records from a JSON array or JSON Lines FILE ('-' reads standard input)."),
)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@database_option
def import_command(file: str, database_url: str) -> None:
    try:
        with click.open_file(file, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise click.ClickException(_("Cannot read {path}: {error}").format(path=file, error=error))

    try:
        records = parse_catalog(data)
    except CatalogFileError as error:
        raise click.ClickException(_("Import failed, nothing was changed: {error}").format(error=error))

    engine = create_catalog_engine(database_url)
    try:
        ensure_schema(engine)
        with _progress(len(records), _("Writing")) as advance:
            import_records(engine, records, advance)
    except (SchemaBehindError, SQLAlchemyError) as error:
        raise click.ClickException(_("Import failed, nothing was changed: {error}").format(error=error))
    finally:
        engine.dispose()
    click.echo(
        _("Imported {count} images into {url}.").format(
            count=len(records), url=engine.url.render_as_string()
        ),
        err=True,
    )


@images.command("export", help=_("Export every image record as JSON Lines (or a JSON array with --format json)."))
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
    engine = create_catalog_engine(database_url)
    write = write_json_array if output_format == "json" else write_json_lines
    try:
        ensure_schema(engine)
        with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as stream:
            count = write(iter_records(engine, region_id), stream)
    except (SchemaBehindError, SQLAlchemyError) as error:
        raise click.ClickException(str(error))
    finally:
        engine.dispose()
    click.echo(_("Exported {count} images.").format(count=count), err=True)


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


