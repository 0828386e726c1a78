"""File imports (`tracker import …`, commands in tracker.cli.imports): streaming parsers → raw tables."""
