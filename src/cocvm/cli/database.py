"""`cocvm db`: the catalog database's schema."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from cocvm.cli.i18n import _
from cocvm.cli.options import database_option
from cocvm.store.database import create_catalog_engine, current_revision, upgrade_schema


@click.group(help=_("Manage the catalog database schema."))
def db() -> None:
    pass


@db.command(help=_("Create the schema or apply the migrations the database lacks."))
@database_option
def upgrade(database_url: str) -> None:
    engine = create_catalog_engine(database_url)
    try:
        upgrade_schema(engine)
        revision = current_revision(engine)
    except SQLAlchemyError as error:
        raise click.ClickException(_("Cannot open the database: {error}").format(error=error))
    finally:
        engine.dispose()
    click.echo(_("Database schema is at revision {revision}.").format(revision=revision))
