"""`cocvm db`: the catalog database's schema."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from cocvm.cli.i18n import _
from cocvm.cli.options import database_option
from cocvm.store.database import (
    SchemaBehindError,
    create_catalog_engine,
    current_revision,
    describe_database_error,
    upgrade_schema,
)


@click.group(help=_("Manage the catalog database schema."))
def db() -> None:
    pass


@db.command(help=_("Create the schema or apply the migrations the database lacks."))
@database_option
def upgrade(database_url: str) -> None:
    engine = None
    try:
        engine = create_catalog_engine(database_url)
        upgrade_schema(engine)
        revision = current_revision(engine)
    except SchemaBehindError as error:
        raise click.ClickException(
            _("Cannot upgrade the database schema: {error}").format(error=error)
        ) from None
    except SQLAlchemyError as error:
        raise click.ClickException(
            _("Cannot upgrade the database schema: {error}").format(
                error=describe_database_error(error)
            )
        ) from None
    finally:
        if engine is not None:
            engine.dispose()
    click.echo(_("Database schema is at revision {revision}.").format(revision=revision))
