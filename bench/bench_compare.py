"""This checkout's import against another checkout's, on the same files, in the same run.

For a change that must not slow the engine (a restructuring): the 20-site workbook pair
and one site's exports are made once, then the two checkouts' whole-process imports
(``bench/import_once.py``, each with its own Python) take turns, ``--rounds`` times each,
so that the machine's drift falls on both alike. Prints the best and the median seconds of
each, per step too, and this checkout's over the other's.

    python bench/bench_compare.py --other ../old-checkout            # 1,000,000 rows
    python bench/bench_compare.py --other ../old --rows 100000 --rounds 3

The other checkout needs ``.venv-bench`` (``make bench`` there makes it), or --other-python.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import product_python  # noqa: E402
from bench.bench_engine import (  # noqa: E402
    SITE,
    asterisk_export,
    generic_export,
    measure,
    workbooks,
)

CASES = {"generic-csv": ("PBX", generic_export), "asterisk-cdr-csv": ("Asterisk", asterisk_export)}


def one_import(python: str, checkout: Path, books: Path, app: str, export: Path, tmp: Path):
    """Wall seconds and step seconds of one whole-process import by ``checkout``'s code."""
    out = Path(tempfile.mkdtemp(dir=tmp)) / "batch"
    took, _, printed = measure(
        [
            python,
            str(checkout / "bench" / "import_once.py"),
            str(books),
            SITE,
            app,
            str(export),
            str(out),
            str(out.parent / "history.sqlite"),
        ],
        tmp,
    )
    return took, json.loads(printed.strip().splitlines()[-1])["phases"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="the other checkout")
    parser.add_argument("--other-python", help="its Python (default: its .venv-bench)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    args = parser.parse_args(argv)
    other = args.other.resolve()
    sides = {
        "this": (product_python(), ROOT),
        "other": (args.other_python or str(other / ".venv-bench" / "bin" / "python"), other),
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        books = tmp / "wb"
        books.mkdir()
        codes, mapped = workbooks(books)
        print(f"{args.rows:,} rows a case, {args.rounds} rounds, this = {ROOT}, other = {other}")
        print("| Export | side | best s | median s | steps (median s) |")
        print("|---|---|---:|---:|---|")
        for case in args.cases:
            app, make = CASES[case]
            export = tmp / f"{case}.csv"
            make(export, args.rows, codes + (mapped if case == "generic-csv" else []))
            runs: dict[str, list] = {"this": [], "other": []}
            for _ in range(args.rounds):
                for side, (python, checkout) in sides.items():
                    runs[side].append(one_import(python, checkout, books, app, export, tmp))
            medians = {}
            for side, got in runs.items():
                seconds = [s for s, _ in got]
                steps = {k: statistics.median(p[k] for _, p in got) for k in got[0][1]}
                medians[side] = statistics.median(seconds)
                shown = ", ".join(f"{k} {v:.2f}" for k, v in steps.items() if k != "setup")
                print(f"| {case} | {side} | {min(seconds):.2f} | {medians[side]:.2f} | {shown} |")
            print(f"| {case} | this / other | | {medians['this'] / medians['other']:.2f} × | |")


if __name__ == "__main__":
    main()
