"""The ``ioc`` command line: one root group, every command module registers itself on it."""

from ioc.cli.root import main

__all__ = ["main"]
