"""`cocvm keys`: access keys that sign requests, each owned by a pin."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import click
import msgspec
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cocvm.cli.i18n import _
from cocvm.cli.options import database_option, server_key_file_option
from cocvm.store.database import SchemaBehindError, create_catalog_engine, ensure_schema
from cocvm.store.keys import (
    AccessKeyNotFoundError,
    create_access_key,
    delete_access_key,
    list_access_keys,
    set_access_key_enabled,
)
from cocvm.store.secret_box import ServerKeyError, load_secret_box


@contextmanager
def _catalog(database_url: str) -> Iterator[Engine]:
    engine = create_catalog_engine(database_url)
    try:
        ensure_schema(engine)
        yield engine
    except (SchemaBehindError, SQLAlchemyError, ServerKeyError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.dispose()


@click.group(help=_("Manage access keys: create, list, disable, enable, delete."))
def keys() -> None:
    pass


@keys.command(help=_("Create an access key for PIN and print its secret (shown only this once)."))
@click.option(
    "--pin", required=True, help=_("The user pin that owns the key and its private images.")
)
@click.option("--json", "as_json", is_flag=True, help=_("Print the key pair as one JSON object."))
@database_option
@server_key_file_option
def create(pin: str, as_json: bool, database_url: str, server_key_file: str | None) -> None:
    if not pin.strip():
        raise click.BadParameter(_("The pin must not be empty."), param_hint="--pin")
    with _catalog(database_url) as engine:
        box = load_secret_box(server_key_file, create=True)
        new_key = create_access_key(engine, box, pin)

    if as_json:
        click.echo(
            msgspec.json.encode(
                {"accessKey": new_key.access_key, "secretKey": new_key.secret_key, "pin": pin}
            ).decode()
        )
        return
    click.echo(_("Access key: {value}").format(value=new_key.access_key))
    click.echo(_("Secret key: {value}").format(value=new_key.secret_key))
    click.echo(_("Pin:        {value}").format(value=pin))
    click.echo(_("Store the secret key now: it cannot be shown again."), err=True)
    click.echo(
        _("The secret is encrypted with {source}; the server must use the same server key.").format(
            source=box.source
        ),
        err=True,
    )


@keys.command("list", help=_("List access keys (never their secrets)."))
@click.option("--pin", default=None, help=_("Show only this pin's keys."))
@click.option("--json", "as_json", is_flag=True, help=_("Print JSON Lines instead of a table."))
@database_option
def list_command(pin: str | None, as_json: bool, database_url: str) -> None:
    with _catalog(database_url) as engine:
        stored = list_access_keys(engine, pin)

    if as_json:
        for key in stored:
            click.echo(
                msgspec.json.encode(
                    {
                        "accessKey": key.access_key,
                        "pin": key.pin,
                        "enabled": key.enabled,
                        "createdAt": _format_time(key.created_at),
                    }
                ).decode()
            )
        return
    # Rich shrinks a table to the terminal (80 columns when the output is not a terminal) and
    # would cut long values with an ellipsis: access keys never wrap and pins wrap whole.
    table = Table(_("Access key"), _("Pin"), _("Status"), _("Created (UTC)"))
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max((len(key.access_key) for key in stored), default=0)
    table.columns[1].overflow = "fold"
    for key in stored:
        status = _("enabled") if key.enabled else _("disabled")
        table.add_row(key.access_key, key.pin, status, _format_time(key.created_at))
    Console().print(table)


@keys.command(help=_("Disable an access key; requests signed with it fail from the next one on."))
@click.argument("access_key")
@database_option
def disable(access_key: str, database_url: str) -> None:
    _set_enabled(access_key, database_url, enabled=False)
    click.echo(_("Disabled {access_key}.").format(access_key=access_key))


@keys.command(help=_("Enable a disabled access key again."))
@click.argument("access_key")
@database_option
def enable(access_key: str, database_url: str) -> None:
    _set_enabled(access_key, database_url, enabled=True)
    click.echo(_("Enabled {access_key}.").format(access_key=access_key))


@keys.command(help=_("Delete an access key for good."))
@click.argument("access_key")
@database_option
def delete(access_key: str, database_url: str) -> None:
    with _catalog(database_url) as engine:
        try:
            delete_access_key(engine, access_key)
        except AccessKeyNotFoundError:
            raise _not_found(access_key) from None
    click.echo(_("Deleted {access_key}.").format(access_key=access_key))


def _set_enabled(access_key: str, database_url: str, *, enabled: bool) -> None:
    with _catalog(database_url) as engine:
        try:
            set_access_key_enabled(engine, access_key, enabled)
        except AccessKeyNotFoundError:
            raise _not_found(access_key) from None


def _not_found(access_key: str) -> click.ClickException:
    return click.ClickException(
        _("Access key {access_key} not found; `cocvm keys list` shows the keys.").format(
            access_key=access_key
        )
    )


def _format_time(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))
