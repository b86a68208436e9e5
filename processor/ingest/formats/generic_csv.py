"""`generic-csv`: a CSV with a header row, for devices that can export a plain table.

Columns (header text, any case and order): Code, Date, Description, Quantity,
Cost, and optionally Item, Duration, Destination. Dates are ISO
(2026-01-31 or 2026-01-31 13:45[:00]) or day first (31/01/2026 13:45).
"""

from processor.ingest.formats.base import Format
from processor.ingest.formats.registry import register

FORMAT = register(
    Format(
        name="generic-csv",
        notes=(
            "Columns found by header text, in any order; Item, Duration and Destination may"
            " be absent."
        ),
        description="CSV with a header: Code, Date, Description, Quantity, Cost "
        "[, Item, Duration, Destination]",
        fields=(
            "Code",
            "Date",
            "Description",
            "Quantity",
            "Cost",
            "Item",
            "Duration",
            "Destination",
        ),
        match_on=("Code",),
        date="Date",
        has_header=True,
        header_rows=1,
        quantity="Quantity",
        cost="Cost",
        duration="Duration",
        destination="Destination",
        description_field="Description",
        item="Item",
        optional=("Item", "Duration", "Destination"),
    )
)
