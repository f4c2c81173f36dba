"""Options shared by several commands."""

from __future__ import annotations

import click

from cocvm.cli.i18n import _
from cocvm.store.database import DEFAULT_DATABASE_URL

database_option = click.option(
    "--database",
    "database_url",
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    envvar="COCVM_DATABASE",
    show_envvar=True,
    help=_("Database URL: sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DBNAME."),
)

server_key_file_option = click.option(
    "--server-key-file",
    default=None,
    envvar="COCVM_SERVER_KEY_FILE",
    show_envvar=True,
    help=_(
        "File with the key that encrypts access key secrets at rest; created on first use. "
        "Default: ~/.config/cocvm/server.key. COCVM_SERVER_KEY, if set, supplies the key itself."
    ),
)
