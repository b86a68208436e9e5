"""Reports of batches, one concern a module (as papermill keeps one module per concern).

- ``batch``: a batch folder loaded and checked; void and double-billed batches.
- ``figures``: the figures the notebooks show (headline, reconciliation, accounts,
  products, days, reasons, unknown codes, period summaries).
- ``suggestions``: what an unknown code may have been meant to be.
- ``codes_to_add``: the codes-to-add.xlsx workbook a clerk fills in.
- ``statement_files``: per-account statements for clients (csv and xlsx).
- ``display``: how figures are shown in HTML (exact money as text, tables, charts).

The notebooks call ``from processor import reports as r`` and use the names below.
"""

from processor.errors import ReportError
from processor.reports.batch import (
    FILES,
    Batch,
    double_billed,
    load_batch,
    reference_for,
    unique_batches,
    void_banner,
    void_batches,
)
from processor.reports.codes_to_add import (
    CODES_HEADER_ROW,
    CODES_SHEET,
    ID_NAME,
    codes_to_add_path,
    write_codes_to_add,
)
from processor.reports.display import (
    actions_html,
    alerts_html,
    balanced_badge,
    bold,
    charts_row,
    daily_chart,
    heading,
    html,
    key_values,
    reasons_chart,
    show,
    text,
    top_accounts_chart,
    warnings_html,
)
from processor.reports.figures import (
    ZERO,
    allowances,
    by_account,
    by_product,
    by_reason,
    credits,
    daily,
    has_device_cost,
    headline,
    money,
    negative_margins,
    period_summary,
    period_totals,
    reconciliation,
    statements,
    unbilled_examples,
    unbilled_headline,
    unknown_codes,
    with_total,
)
from processor.reports.suggestions import suggestions

__all__ = [
    "CODES_HEADER_ROW",
    "CODES_SHEET",
    "FILES",
    "ID_NAME",
    "ZERO",
    "Batch",
    "ReportError",
    "actions_html",
    "alerts_html",
    "allowances",
    "balanced_badge",
    "bold",
    "by_account",
    "by_product",
    "by_reason",
    "charts_row",
    "codes_to_add_path",
    "credits",
    "daily",
    "daily_chart",
    "double_billed",
    "has_device_cost",
    "heading",
    "headline",
    "html",
    "key_values",
    "load_batch",
    "money",
    "negative_margins",
    "period_summary",
    "period_totals",
    "reasons_chart",
    "reconciliation",
    "reference_for",
    "show",
    "statements",
    "suggestions",
    "text",
    "top_accounts_chart",
    "unbilled_examples",
    "unbilled_headline",
    "unique_batches",
    "unknown_codes",
    "void_banner",
    "void_batches",
    "warnings_html",
    "with_total",
    "write_codes_to_add",
]
