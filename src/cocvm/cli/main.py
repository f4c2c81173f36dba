"""Entry point of the `cocvm` command and its command groups."""

from __future__ import annotations

import click

from cocvm import __version__
from cocvm.cli.database import db
from cocvm.cli.i18n import _
from cocvm.cli.images import images
from cocvm.cli.keys import keys
from cocvm.cli.serve import serve


@click.group(help=_("cocvm: a JD Cloud-compatible VM image catalog service."))
@click.version_option(__version__, prog_name="cocvm", help=_("Show the version and exit."))
def cli() -> None:
    pass


cli.add_command(serve)
cli.add_command(images)
cli.add_command(db)
cli.add_command(keys)


def main() -> None:
    """Run the command line."""
    cli(prog_name="cocvm")
