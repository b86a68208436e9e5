"""PaperCut print logs: the free Print Logger's daily CSV and NG/MF's tab-separated log."""

from __future__ import annotations

from processor.ingest.formats.base import Format
from processor.ingest.formats.registry import register

PRINT_LOGGER = register(
    Format(
        name="papercut-print-logger",
        notes=(
            "The title line is optional; quantity is Pages × Copies; Item is mono "
            "(GRAYSCALE) or colour (NOT GRAYSCALE)."
        ),
        description="PaperCut Print Logger daily CSV (title line, 14-column header, trailing "
        "comma)",
        fields=(
            "Time",
            "User",
            "Pages",
            "Copies",
            "Printer",
            "Document Name",
            "Client",
            "Paper Size",
            "Language",
            "Height",
            "Width",
            "Duplex",
            "Grayscale",
            "Size",
        ),
        match_on=("User",),
        date="Time",
        date_formats=("%Y-%m-%d %H:%M:%S",),
        has_header=True,
        header_rows=1,
        title_line="PaperCut Print Logger",
        # real rows always carry all 14 fields: a shorter one was cut short, not guessed at
        min_fields=14,
        trailing_fields=1,  # every row ends in a comma
        quantity="Pages",
        quantity_factor="Copies",
        description_field="Document Name",
        item="Grayscale",
        item_map={"grayscale": "mono", "not grayscale": "colour"},
        paper_size="Paper Size",
        duplex="Duplex",
        sniff_hint="PaperCut Print Logger",
    )
)


def ng_row(r: list[str]) -> list[str]:
    """12-hour `1:05:12 p` → `1:05:12 PM`; colour pages > 0 makes the job colour."""
    r = list(r)
    if len(r) > 1:
        t = r[1].strip()
        if t[-1:].lower() in ("a", "p") and not t.lower().endswith(("am", "pm")):
            r[1] = t[:-1].strip() + (" AM" if t[-1].lower() == "a" else " PM")
    colour = r[9].strip() if len(r) > 9 else ""
    item = "colour" if colour.isdigit() and int(colour) > 0 else "mono"
    while len(r) < 12:
        r.append("")
    return [*r[:12], item]


NG_PRINT_LOG = register(
    Format(
        name="papercut-ng-print-log",
        notes=(
            "Quantity is total pages; Item is colour when colour pages > 0, else mono; "
            "copies and cost may be absent."
        ),
        description="PaperCut NG/MF print log (tab-separated; date and 12-hour time split by "
        "a tab)",
        fields=(
            "date",
            "time",
            "server",
            "printer",
            "user",
            "account",
            "client",
            "document",
            "pages",
            "colour_pages",
            "copies",
            "cost",
            "item",
        ),
        match_on=("account", "user"),
        date="date",
        time="time",
        date_formats=("%Y-%m-%d %I:%M:%S %p",),
        delimiter="\t",
        min_fields=10,
        optional=("copies", "cost", "item"),  # item is derived from colour_pages
        normalise=ng_row,
        quantity="pages",
        cost="cost",
        description_field="document",
        item="item",
    )
)
