"""`charges init`: empty template workbooks."""

from __future__ import annotations

from processor.cli.exit_codes import EXIT_OK


def run(args) -> int:
    from processor.reference.templates import write_templates

    for path in write_templates(args.folder):
        print(f"wrote {path}")
    print(f"Fill them in, then run: charges validate --workbooks {args.folder}")
    return EXIT_OK
