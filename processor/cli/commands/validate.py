"""`charges validate`: every problem in the workbooks, as text or JSON."""

from __future__ import annotations

import json
import sys

from processor import findings as fnd
from processor.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from processor.cli.printing import print_findings


def run(args) -> int:
    from processor.reference.loading import validate_folder

    _, found = validate_folder(args.workbooks)
    n_err = len(fnd.errors(found))
    if args.format == "json":
        doc = {
            "errors": n_err,
            "warnings": len(fnd.warnings(found)),
            "findings": [{**row, "text": fnd.render(row)} for row in found.to_dict("records")],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_findings(found, sys.stdout)
    return EXIT_ERRORS if n_err else EXIT_OK
