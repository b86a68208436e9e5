"""Benchmarks: run with `make bench`."""

from __future__ import annotations

import os
import sys


def product_python() -> str:
    """The interpreter that runs the product in a benchmark's whole-process measurements.

    `make bench` sets BENCH_PYTHON to a virtual environment holding only what
    `pip install device-charges` installs. The development environment also holds
    pytest, hypothesis and ruff, and pandera imports hypothesis (about 0.1 s) when it
    finds it, which no user pays.
    """
    return os.path.abspath(os.environ.get("BENCH_PYTHON") or sys.executable)
