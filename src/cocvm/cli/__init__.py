"""The `cocvm` command line: serve, images import and export, database upgrade."""
