"""`charges formats`: the built-in export formats and their fields."""

from __future__ import annotations

from processor.cli.exit_codes import EXIT_OK


def run(args) -> int:
    from processor.ingest.formats import registry

    for fmt in registry.all_formats():
        print(f"{fmt.name}: {fmt.description}")
        print(f"  fields: {', '.join(fmt.fields)}")
        print(f'  decimal separator: "{fmt.decimal_separator}"')
        print(
            f"  Match On default: {', '.join(map(str, fmt.match_on))}"
            + (f"; Item: {fmt.item}" if fmt.item else "")
        )
    return EXIT_OK
