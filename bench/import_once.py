"""One import as a whole process, for bench_engine: prints its phase times as JSON.

python bench/import_once.py WORKBOOKS LOCATION APPLICATION EXPORT OUT HISTORY
"""

import time

START = time.perf_counter()  # before any import: the process's own start-up is counted

import datetime as dt  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processor import create_history, run_import  # noqa: E402


def main(argv: list[str]) -> None:
    imported = time.perf_counter()
    workbooks, location, application, export, out, history = argv
    if not Path(history).exists():  # a history is created on purpose, as charges init does
        create_history(Path(history))
    result = run_import(
        Path(workbooks),
        location,
        application,
        [Path(export)],
        Path(out),
        dt.date(2026, 10, 31),
        history=Path(history),
    )
    phases = {"imports": imported - START, **result.timings}
    print(json.dumps({"phases": phases, "rows": result.manifest["rows"]}))


if __name__ == "__main__":
    main(sys.argv[1:])
