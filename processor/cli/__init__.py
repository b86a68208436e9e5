"""The command line: a thin layer over the recipes (parse, call, print)."""

from processor.cli.main import main

__all__ = ["main"]
