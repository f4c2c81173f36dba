"""Allow `python -m cocvm`."""

from cocvm.cli.main import main

main()
